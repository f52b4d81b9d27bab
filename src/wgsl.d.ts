declare module '*.wgsl' {
  const code: string;
  export default code;
}

// wgsl_reflect's package entry for Node is a CommonJS file under "type": "module", which Node cannot load; its ES
// module build is imported by path, and typed by the package's own declarations.
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
