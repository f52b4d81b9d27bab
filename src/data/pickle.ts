/**
 * A small, runtime-agnostic reader for Python pickles (protocols 0-5 framing,
 * but only the opcodes that plain data pickles use), with just enough of
 * numpy and scipy to rebuild `ndarray`, `dtype` and `csr_matrix` objects.
 *
 * It is not a general unpickler: any opcode or global (module.name) it does
 * not know throws an error that names it, instead of guessing. It is written
 * by hand because no maintained JavaScript unpickler rebuilds numpy/scipy
 * objects, and because a reader of untrusted files must check what it reads:
 * every length is checked against the bytes present before anything is
 * allocated, MARKs never leak into values, tuples are immutable, the stack
 * must hold exactly the result at STOP and nothing may follow STOP; numpy
 * shapes must be non-negative integers whose size matches the raw bytes, and
 * a csr_matrix must be a valid CSR (see CsrMatrix). So no input makes it loop
 * or allocate more than a small multiple of its own size.
 *
 * Value mapping (Python -> JS):
 *   None -> null, bool -> boolean, int -> number (bigint beyond 2^53),
 *   float -> number, Python 2 `str` -> string decoded as latin1 (the same as
 *   `pickle.load(f, encoding='latin1')`), unicode -> string, bytes -> Uint8Array,
 *   tuple/list -> array, dict/defaultdict -> Map,
 *   numpy.ndarray -> NdArray, numpy.dtype -> NpDType,
 *   scipy.sparse csr_matrix -> CsrMatrix.
 */

// ---------------------------------------------------------------------------
// numpy / scipy objects

/** numpy dtype as pickled: `numpy.dtype('i4', 0, 1)` then BUILD with (version, byteorder, ...). */
export class NpDType {
  /** Byte order: '<' little, '>' big, '|' not applicable, '=' native (treated as little). */
  byteOrder = '=';
  constructor(readonly code: string) {}

  setState(state: unknown): void {
    if (!Array.isArray(state) || typeof state[1] !== 'string') {
      throw new Error(`pickle: unexpected numpy.dtype state for '${this.code}'`);
    }
    if (!['<', '>', '|', '='].includes(state[1])) {
      throw new Error(`pickle: numpy.dtype '${this.code}' has byte order '${state[1]}' (expected <, >, | or =)`);
    }
    this.byteOrder = state[1];
  }

  /** Element size in bytes, from the code's trailing number ('f4' -> 4, 'b1' -> 1). */
  get itemSize(): number {
    const m = /^[a-z?](\d+)$/.exec(this.code);
    if (m) return Number(m[1]);
    if (this.code === '?' || this.code === 'b' || this.code === 'B') return 1;
    throw new Error(`pickle: unsupported numpy dtype '${this.code}'`);
  }
}

export type NdData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/**
 * numpy ndarray, rebuilt from `_reconstruct(ndarray, (0,), 'b')` followed by
 * BUILD with state `(version, shape, dtype, is_fortran, rawdata)`, where
 * rawdata is the C-order element bytes (a latin1 str in Python 2 pickles).
 */
export class NdArray {
  shape: number[] = [];
  dtype: NpDType | null = null;
  data: NdData = new Uint8Array(0);

  setState(state: unknown): void {
    if (!Array.isArray(state) || state.length !== 5) {
      throw new Error('pickle: unexpected numpy.ndarray state (expected a 5-tuple)');
    }
    const [, shape, dtype, isFortran, raw] = state as unknown[];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw new Error(`pickle: numpy.ndarray shape ${describe(shape)} is not a tuple of non-negative ints`);
    }
    if (!(dtype instanceof NpDType)) throw new Error('pickle: numpy.ndarray dtype is not a numpy.dtype');
    if (isFortran !== true && isFortran !== false && isFortran !== 0 && isFortran !== 1) {
      throw new Error('pickle: numpy.ndarray Fortran flag is not a bool');
    }
    if (isFortran && shape.length > 1) {
      throw new Error('pickle: Fortran-ordered numpy arrays are not supported');
    }
    const bytes = typeof raw === 'string' ? latin1Encode(raw) : raw;
    if (!(bytes instanceof Uint8Array)) {
      throw new Error(
        `pickle: numpy.ndarray of dtype '${dtype.code}' has no raw byte data (object arrays are not supported)`,
      );
    }
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if (!Number.isSafeInteger(count * dtype.itemSize) || bytes.length !== count * dtype.itemSize) {
      throw new Error(
        `pickle: numpy.ndarray data has ${bytes.length} bytes, expected ${count} x ${dtype.itemSize} for shape ` +
          `[${shape.join(', ')}]`,
      );
    }
    this.shape = shape as number[];
    this.dtype = dtype;
    this.data = typedArrayFromBytes(dtype, bytes);
  }
}

/**
 * scipy.sparse.csr_matrix, from NEWOBJ + BUILD with its `__dict__`. BUILD checks that it is a valid CSR:
 * `_shape` two ints in [0, 2^31); `indptr` 1-d integer of rows + 1 entries, starting at 0, non-decreasing, ending
 * at nnz; `indices` 1-d integer of nnz entries, each in [0, cols); `data` 1-d of nnz entries.
 */
export class CsrMatrix {
  shape: [number, number] = [0, 0];
  data: NdData = new Float32Array(0);
  indices: NdData = new Int32Array(0);
  indptr: NdData = new Int32Array(0);

  setState(state: unknown): void {
    if (!(state instanceof Map)) throw new Error('pickle: unexpected csr_matrix state (expected a dict)');
    const field = (key: string): unknown => {
      if (!state.has(key)) throw new Error(`pickle: csr_matrix state has no '${key}'`);
      return state.get(key);
    };
    const format = state.get('format');
    if (format !== undefined && format !== 'csr') throw new Error(`pickle: csr_matrix has format '${String(format)}'`);
    const shape = field('_shape');
    const isDim = (d: unknown) => Number.isSafeInteger(d) && (d as number) >= 0 && (d as number) < 2 ** 31;
    if (!Array.isArray(shape) || shape.length !== 2 || !shape.every(isDim)) {
      throw new Error(`pickle: csr_matrix _shape ${describe(shape)} is not a pair of ints in [0, 2^31)`);
    }
    const [rows, cols] = shape as [number, number];
    const data = ndField(field('data'), 'data', false);
    const indices = ndField(field('indices'), 'indices', true);
    const indptr = ndField(field('indptr'), 'indptr', true);
    const nnz = data.length;
    if (indptr.length !== rows + 1) {
      throw new Error(`pickle: csr_matrix indptr has ${indptr.length} entries for ${rows} rows (expected ${rows + 1})`);
    }
    if (indices.length !== nnz) {
      throw new Error(`pickle: csr_matrix indices has ${indices.length} entries but data has ${nnz}`);
    }
    if (Number(indptr[0]) !== 0) throw new Error(`pickle: csr_matrix indptr starts at ${indptr[0]}, expected 0`);
    for (let r = 0; r < rows; r++) {
      if (Number(indptr[r + 1]) < Number(indptr[r])) {
        throw new Error(`pickle: csr_matrix indptr decreases at row ${r} (${indptr[r]} then ${indptr[r + 1]})`);
      }
    }
    if (Number(indptr[rows]) !== nnz) {
      throw new Error(`pickle: csr_matrix indptr ends at ${indptr[rows]} but there are ${nnz} stored entries`);
    }
    for (let k = 0; k < nnz; k++) {
      const c = Number(indices[k]);
      if (c < 0 || c >= cols) {
        throw new Error(`pickle: csr_matrix column index ${indices[k]} at entry ${k} is outside [0, ${cols})`);
      }
    }
    this.shape = [rows, cols];
    this.data = data;
    this.indices = indices;
    this.indptr = indptr;
  }
}

function ndField(v: unknown, name: string, integer: boolean): NdData {
  if (!(v instanceof NdArray) || v.dtype === null) throw new Error(`pickle: csr_matrix '${name}' is not an ndarray`);
  if (v.shape.length !== 1) {
    throw new Error(`pickle: csr_matrix '${name}' has shape [${v.shape.join(', ')}], expected 1-d`);
  }
  if (integer && !/^[iu]\d$/.test(v.dtype.code)) {
    throw new Error(`pickle: csr_matrix '${name}' has dtype '${v.dtype.code}', expected an integer dtype`);
  }
  return v.data;
}

/** Elements in a value, two levels deep: what a call or BUILD handed `v` may copy or scan. */
function sizeOf(v: unknown, depth: number): number {
  if (typeof v === 'string' || v instanceof Uint8Array) return v.length;
  if (v instanceof NdArray) return v.data.length;
  if (v instanceof CsrMatrix) return v.data.length;
  let n = 0;
  if (Array.isArray(v)) {
    n = v.length;
    if (depth < 2) for (const x of v) n += sizeOf(x, depth + 1);
  } else if (v instanceof Map) {
    n = v.size;
    if (depth < 2) for (const x of v.values()) n += sizeOf(x, depth + 1);
  }
  return n;
}

/** A short description of a value for error messages (never the whole of a large value). */
function describe(v: unknown, depth = 0): string {
  if (Array.isArray(v)) {
    if (v.length > 8 || depth > 2) return `(a tuple of ${v.length})`;
    return `(${v.map((x) => describe(x, depth + 1)).join(', ')})`;
  }
  if (typeof v === 'bigint') return `${v}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v);
  if (v instanceof Map) return 'a dict';
  if (v === null) return 'None';
  if (typeof v === 'object') return `a ${v.constructor?.name ?? 'object'}`;
  return String(v);
}

const TYPED_CTORS: Record<string, { new (buf: ArrayBuffer): NdData }> = {
  f4: Float32Array,
  f8: Float64Array,
  i1: Int8Array,
  u1: Uint8Array,
  b1: Uint8Array,
  i2: Int16Array,
  u2: Uint16Array,
  i4: Int32Array,
  u4: Uint32Array,
  i8: BigInt64Array,
  u8: BigUint64Array,
};

/** Copies `bytes` into an aligned buffer (swapping to little endian if needed) and views it. */
function typedArrayFromBytes(dtype: NpDType, bytes: Uint8Array): NdData {
  const Ctor = TYPED_CTORS[dtype.code];
  if (!Ctor) throw new Error(`pickle: unsupported numpy dtype '${dtype.code}'`);
  const copy = bytes.slice(); // fresh, aligned ArrayBuffer
  const size = dtype.itemSize;
  if (dtype.byteOrder === '>' && size > 1) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  return new Ctor(copy.buffer);
}

function latin1Encode(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new Error('pickle: string is not latin1-encodable raw data');
    out[i] = c;
  }
  return out;
}

function latin1Decode(bytes: Uint8Array): string {
  // Not TextDecoder('latin1'): the WHATWG decoder maps it to windows-1252.
  let s = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    s += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + CHUNK)));
  }
  return s;
}

// ---------------------------------------------------------------------------
// globals: the only callables a pickle may name

/** A Python global the reader knows: what REDUCE (`call`) or NEWOBJ (`newObj`) makes of it. */
interface PyGlobal {
  readonly qualname: string;
  call?(args: unknown[]): unknown;
  newObj?(args: unknown[]): unknown;
}

const NDARRAY_CLASS: PyGlobal = { qualname: 'numpy.ndarray' };
const LIST_CLASS: PyGlobal = {
  qualname: 'builtins.list',
  call(args) {
    if (args.length === 0) return [];
    if (args.length !== 1 || !Array.isArray(args[0])) {
      throw new Error('pickle: list() of something other than a list or tuple');
    }
    return Array.from(args[0] as unknown[]);
  },
};

const reconstruct: PyGlobal = {
  qualname: 'numpy.core.multiarray._reconstruct',
  // _reconstruct(ndarray, (0,), b'b'): an empty array that BUILD then fills.
  call(args) {
    if (args.length !== 3 || args[0] !== NDARRAY_CLASS) {
      throw new Error('pickle: _reconstruct of a class other than numpy.ndarray');
    }
    return new NdArray();
  },
};

const dtypeGlobal: PyGlobal = {
  qualname: 'numpy.dtype',
  call(args) {
    if (typeof args[0] !== 'string') throw new Error('pickle: numpy.dtype called without a type string');
    return new NpDType(args[0]);
  },
};

const csrGlobal: PyGlobal = { qualname: 'scipy.sparse.csr_matrix', newObj: () => new CsrMatrix() };

const defaultdictGlobal: PyGlobal = {
  qualname: 'collections.defaultdict',
  // defaultdict(list): the default factory does not matter once it is data.
  call: () => new Map<unknown, unknown>(),
};

/** Python 3 writes bytes in protocol 2 as `_codecs.encode(latin1_text, 'latin1')`. */
const codecsEncode: PyGlobal = {
  qualname: '_codecs.encode',
  call(args) {
    if (typeof args[0] !== 'string' || args[1] !== 'latin1')
      throw new Error(`pickle: _codecs.encode with encoding '${String(args[1])}'`);
    return latin1Encode(args[0]);
  },
};

/** "module name" as written by GLOBAL -> implementation (Python 2 and 3 spellings). */
const GLOBALS: Record<string, PyGlobal> = {
  'numpy.core.multiarray _reconstruct': reconstruct,
  'numpy._core.multiarray _reconstruct': reconstruct,
  'numpy ndarray': NDARRAY_CLASS,
  'numpy dtype': dtypeGlobal,
  'scipy.sparse.csr csr_matrix': csrGlobal,
  'scipy.sparse._csr csr_matrix': csrGlobal,
  'collections defaultdict': defaultdictGlobal,
  '__builtin__ list': LIST_CLASS,
  'builtins list': LIST_CLASS,
  '_codecs encode': codecsEncode,
};

const KNOWN_GLOBALS: ReadonlySet<unknown> = new Set(Object.values(GLOBALS));

// ---------------------------------------------------------------------------
// the machine

/** Opcode byte -> name, for the opcodes this reader implements. */
const OP = {
  MARK: 0x28, // (
  STOP: 0x2e, // .
  POP: 0x30, // 0
  BINFLOAT: 0x47, // G
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  NONE: 0x4e, // N
  REDUCE: 0x52, // R
  BINSTRING: 0x54, // T
  SHORT_BINSTRING: 0x55, // U
  BINUNICODE: 0x58, // X
  APPEND: 0x61, // a
  BUILD: 0x62, // b
  GLOBAL: 0x63, // c
  APPENDS: 0x65, // e
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
  EMPTY_LIST: 0x5d, // ]
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  SETITEM: 0x73, // s
  TUPLE: 0x74, // t
  SETITEMS: 0x75, // u
  EMPTY_DICT: 0x7d, // }
  EMPTY_TUPLE: 0x29, // )
  PROTO: 0x80,
  NEWOBJ: 0x81,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  SHORT_BINUNICODE: 0x8c,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  BINBYTES: 0x42, // B
  SHORT_BINBYTES: 0x43, // C
} as const;

/** Names of opcodes this reader does not implement, so that errors can name them. */
const UNSUPPORTED_NAMES: Record<number, string> = {
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4c: 'LONG',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x53: 'STRING',
  0x56: 'UNICODE',
  0x64: 'DICT',
  0x67: 'GET',
  0x69: 'INST',
  0x6c: 'LIST',
  0x6f: 'OBJ',
  0x70: 'PUT',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x8b: 'LONG4',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

class MarkObj {}
const MARK = new MarkObj();

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses one pickle from `bytes` and returns its value (see the module comment for the mapping). Throws an Error
 * starting with 'pickle:' that says what is wrong and where (byte offset) for anything that is not a well-formed
 * data pickle, including bytes after its STOP.
 */
export function unpickle(bytes: Uint8Array): unknown {
  // A plain view: Node's Buffer.slice does not copy, and arrays must own copies of their bytes.
  return new Unpickler(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).run();
}

class Unpickler {
  private pos = 0;
  private stack: unknown[] = [];
  private readonly memo = new Map<number, unknown>();
  /**
   * Elements that calls and BUILDs may still copy or scan. Memo references (BINGET) cost two bytes each, so without
   * a budget a small pickle could copy one large value many times over; each such step is charged the size of
   * what it is handed, within a budget proportional to the input.
   */
  private budget: number;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.budget = 8 * bytes.length + (1 << 20);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): unknown {
    for (;;) {
      const at = this.pos;
      if (at >= this.bytes.length) {
        throw new Error(`pickle: truncated data: no STOP opcode before the end (${at} bytes)`);
      }
      const op = this.u8();
      if (op === OP.STOP) {
        const value = this.pop();
        if (this.stack.length !== 0) {
          throw new Error(`pickle: ${this.stack.length} values left on the stack at STOP (offset ${at})`);
        }
        if (this.pos !== this.bytes.length) {
          throw new Error(`pickle: ${this.bytes.length - this.pos} bytes after the STOP opcode at offset ${at}`);
        }
        return value;
      }
      this.step(op, at);
    }
  }

  // --- reading raw bytes
  private need(n: number): void {
    if (this.pos + n > this.bytes.length) {
      const left = this.bytes.length - this.pos;
      throw new Error(`pickle: truncated data at offset ${this.pos} (${n} bytes needed, ${left} left)`);
    }
  }
  private u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  private u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  private i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  private take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) throw new Error(`pickle: unterminated line at offset ${this.pos}`);
    const s = latin1Decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  // --- stack helpers
  /** The top value (a MARK is not a value). */
  private pop(): unknown {
    if (this.stack.length === 0) throw new Error(`pickle: stack underflow at offset ${this.pos}`);
    const v = this.stack.pop();
    if (v === MARK) throw new Error(`pickle: MARK used as a value at offset ${this.pos}`);
    return v;
  }
  private top(): unknown {
    if (this.stack.length === 0) throw new Error(`pickle: stack underflow at offset ${this.pos}`);
    const v = this.stack[this.stack.length - 1];
    if (v === MARK) throw new Error(`pickle: MARK used as a value at offset ${this.pos}`);
    return v;
  }
  private popN(n: number): unknown[] {
    if (this.stack.length < n) throw new Error(`pickle: stack underflow at offset ${this.pos}`);
    const items = this.stack.splice(-n, n);
    if (items.includes(MARK)) throw new Error(`pickle: MARK used as a value at offset ${this.pos}`);
    return items;
  }
  private charge(v: unknown, at: number): void {
    this.budget -= sizeOf(v, 0);
    if (this.budget < 0) {
      throw new Error(
        `pickle: the data at offset ${at} builds more values than its ${this.bytes.length} bytes can hold ` +
          '(shared references?)',
      );
    }
  }
  private text(raw: Uint8Array, at: number): string {
    try {
      return utf8.decode(raw);
    } catch {
      throw new Error(`pickle: invalid UTF-8 in the string at offset ${at}`);
    }
  }
  /** Pops everything above the topmost MARK (and the mark itself). */
  private popMark(): unknown[] {
    const i = this.stack.lastIndexOf(MARK);
    if (i < 0) throw new Error(`pickle: MARK not found at offset ${this.pos}`);
    const items = this.stack.slice(i + 1);
    this.stack.length = i;
    return items;
  }
  private getMemo(key: number): unknown {
    if (!this.memo.has(key)) throw new Error(`pickle: memo key ${key} not found`);
    return this.memo.get(key);
  }

  private step(op: number, at: number): void {
    const s = this.stack;
    switch (op) {
      case OP.PROTO: {
        const version = this.u8();
        if (version > 5) throw new Error(`pickle: unsupported protocol ${version} at offset ${at}`);
        return;
      }
      case OP.FRAME: {
        // The frame length is a read-ahead hint, but a frame running past the end means a truncated file.
        this.need(8);
        const len = this.view.getBigUint64(this.pos, true);
        this.pos += 8;
        if (len > BigInt(this.bytes.length - this.pos)) {
          const left = this.bytes.length - this.pos;
          throw new Error(`pickle: frame of ${len} bytes at offset ${at} runs past the end (${left} left)`);
        }
        return;
      }
      case OP.MARK:
        s.push(MARK);
        return;
      case OP.POP:
        this.pop();
        return;
      case OP.NONE:
        s.push(null);
        return;
      case OP.NEWTRUE:
        s.push(true);
        return;
      case OP.NEWFALSE:
        s.push(false);
        return;
      case OP.BININT:
        s.push(this.i32());
        return;
      case OP.BININT1:
        s.push(this.u8());
        return;
      case OP.BININT2:
        s.push(this.u16());
        return;
      case OP.LONG1:
        s.push(decodeLong(this.take(this.u8())));
        return;
      case OP.BINFLOAT: {
        this.need(8);
        s.push(this.view.getFloat64(this.pos, false)); // big endian
        this.pos += 8;
        return;
      }
      case OP.SHORT_BINSTRING:
        s.push(latin1Decode(this.take(this.u8())));
        return;
      case OP.BINSTRING: {
        const n = this.i32();
        if (n < 0) throw new Error(`pickle: negative BINSTRING length at offset ${at}`);
        s.push(latin1Decode(this.take(n)));
        return;
      }
      case OP.BINUNICODE:
        s.push(this.text(this.take(this.u32()), at));
        return;
      case OP.SHORT_BINUNICODE:
        s.push(this.text(this.take(this.u8()), at));
        return;
      case OP.BINBYTES:
        s.push(this.take(this.u32()).slice());
        return;
      case OP.SHORT_BINBYTES:
        s.push(this.take(this.u8()).slice());
        return;
      // Tuples are frozen arrays, so that APPEND to one is refused as Python refuses it.
      case OP.EMPTY_TUPLE:
        s.push(Object.freeze([]));
        return;
      case OP.TUPLE:
        s.push(Object.freeze(this.popMark()));
        return;
      case OP.TUPLE1:
        s.push(Object.freeze(this.popN(1)));
        return;
      case OP.TUPLE2:
        s.push(Object.freeze(this.popN(2)));
        return;
      case OP.TUPLE3:
        s.push(Object.freeze(this.popN(3)));
        return;
      case OP.EMPTY_LIST:
        s.push([]);
        return;
      case OP.APPEND: {
        const v = this.pop();
        asList(this.top(), at).push(v);
        return;
      }
      case OP.APPENDS: {
        const items = this.popMark();
        const list = asList(this.top(), at);
        for (const v of items) list.push(v); // not push(...items): that is limited by the call stack
        return;
      }
      case OP.EMPTY_DICT:
        s.push(new Map<unknown, unknown>());
        return;
      case OP.SETITEM: {
        const v = this.pop();
        const k = this.pop();
        asDict(this.top(), at).set(k, v);
        return;
      }
      case OP.SETITEMS: {
        const items = this.popMark();
        const d = asDict(this.top(), at);
        if (items.length % 2 !== 0) throw new Error(`pickle: SETITEMS with an odd number of items at offset ${at}`);
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        return;
      }
      case OP.BINPUT:
        this.memo.set(this.u8(), this.top());
        return;
      case OP.LONG_BINPUT:
        this.memo.set(this.u32(), this.top());
        return;
      case OP.MEMOIZE:
        this.memo.set(this.memo.size, this.top());
        return;
      case OP.BINGET:
        s.push(this.getMemo(this.u8()));
        return;
      case OP.LONG_BINGET:
        s.push(this.getMemo(this.u32()));
        return;
      case OP.GLOBAL: {
        const qual = `${this.line()} ${this.line()}`;
        const g = GLOBALS[qual];
        if (!g) throw new Error(`pickle: unsupported global '${qual.replace(' ', '.')}' at offset ${at}`);
        s.push(g);
        return;
      }
      case OP.REDUCE: {
        const args = this.pop();
        const fn = this.pop() as PyGlobal;
        if (!KNOWN_GLOBALS.has(fn) || !fn.call || !Array.isArray(args)) {
          throw new Error(`pickle: REDUCE on non-callable '${fn?.qualname ?? typeof fn}' at offset ${at}`);
        }
        this.charge(args, at);
        s.push(fn.call(args));
        return;
      }
      case OP.NEWOBJ: {
        const args = this.pop();
        const cls = this.pop() as PyGlobal;
        if (!KNOWN_GLOBALS.has(cls) || !cls.newObj || !Array.isArray(args)) {
          throw new Error(`pickle: NEWOBJ on unsupported class '${cls?.qualname ?? typeof cls}' at offset ${at}`);
        }
        s.push(cls.newObj(args));
        return;
      }
      case OP.BUILD: {
        const state = this.pop();
        const obj = this.top() as { setState?: (st: unknown) => void };
        if (typeof obj?.setState !== 'function')
          throw new Error(`pickle: BUILD on an object without state support at offset ${at}`);
        this.charge(state, at);
        obj.setState(state);
        return;
      }
      default: {
        const name = UNSUPPORTED_NAMES[op] ?? 'unknown';
        const ch = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : '';
        throw new Error(
          `pickle: unsupported opcode ${name} (0x${op.toString(16).padStart(2, '0')}${ch}) at offset ${at}`,
        );
      }
    }
  }
}

function asList(v: unknown, at: number): unknown[] {
  if (!Array.isArray(v) || Object.isFrozen(v)) {
    throw new Error(`pickle: APPEND to ${describe(v)}, not a list, at offset ${at}`);
  }
  return v;
}

function asDict(v: unknown, at: number): Map<unknown, unknown> {
  if (!(v instanceof Map)) throw new Error(`pickle: SETITEM on a non-dict at offset ${at}`);
  return v;
}

/** LONG1 payload: little-endian two's complement integer of n bytes. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
