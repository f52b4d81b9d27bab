// What the CLI's option parsers share around their own flag tables: node:util's parseArgs in strict mode (unknown
// flags and stray arguments are refused) with its refusals said in the CLI's words, and numbers read strictly.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** The values parseArgs gives for the flag table `O`, typed per flag. */
export type FlagValues<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; strict: true; allowPositionals: false; options: O }>
>['values'];

/**
 * Parses `argv` against the flag table `options`. An unknown flag is refused as "unknown option --x <unknownHint>"
 * (the hint says where the flags are listed), a stray argument as "unexpected argument ...", a missing or extra
 * value under the flag's name ("--epochs argument missing").
 */
export function parseFlags<O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
  unknownHint: string,
): FlagValues<O> {
  try {
    return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options }).values as FlagValues<O>;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(e.message)?.[1] ?? 'flag';
      throw new Error(`unknown option ${flag} ${unknownHint}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /'([^']*)'/.exec(e.message)?.[1];
      throw new Error(
        `unexpected argument ${arg !== undefined ? JSON.stringify(arg) : ''}: options are given as --name value`,
      );
    }
    // "Option '--epochs <value>' argument missing" -> "--epochs argument missing"
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
      throw new Error(e.message.replace(/^.*?'(--[\w-]+)[^']*'/, '$1'));
    throw err;
  }
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** A flag's value as a number: decimal notation only ("", "abc", "0x10", "NaN" are refused, naming the flag). */
export function numberFlag(flag: string, s: string): number {
  if (!NUMBER.test(s.trim())) throw new Error(`${flag} must be a number, got ${JSON.stringify(s)}`);
  return Number(s);
}
