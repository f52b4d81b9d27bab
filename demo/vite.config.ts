// `vite demo` looks for its config in the root it is given; the config lives at the repository root.
export { default } from '../vite.config.ts';
