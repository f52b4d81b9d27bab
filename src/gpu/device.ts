// Device acquisition with one API for the browser (navigator.gpu) and Node (the `webgpu` package, Dawn).

export interface DeviceOptions {
  /** Ask for a low-power or high-performance adapter where the platform has a choice. */
  powerPreference?: GPUPowerPreference;
  /** Turn on timestamp queries when the adapter has them (needed by the profiler). Default true. */
  timestamps?: boolean;
  /**
   * Keep WebGPU's default limits instead of raising them to the adapter's (e.g. 8 storage buffers per shader
   * stage): to run, on any machine, the code paths taken on devices that offer no more. Default false.
   */
  defaultLimits?: boolean;
  /**
   * Node only: run the native callbacks the `webgpu` package passes to setImmediate from a 1 ms timer (see
   * throttleNativePolling: its busy polling otherwise takes a CPU core while the GPU works). A process-wide change
   * to setImmediate for native callbacks only; default true.
   */
  throttlePolling?: boolean;
  /** Node only: log line for the fallback to SwiftShader (default console.error). */
  log?: (msg: string) => void;
  /**
   * Which shape of the heavy kernels to run (SpMM, matmul, the column and segment sums): 'cpu' for the shapes made
   * for CPU drivers (one thread walks a whole row or block), 'gpu' for cooperative shapes (a workgroup per row or
   * tile, coalesced loads, workgroup-memory reductions), 'auto' (default) for 'cpu' on fallback adapters and CPU
   * drivers (SwiftShader, lavapipe, llvmpipe) and 'gpu' elsewhere. See `kernelShapeFor`.
   */
  kernels?: KernelShape | 'auto';
  /**
   * Ask for subgroup operations when the adapter has them (default true). False runs the GPU-shaped kernels'
   * workgroup-memory paths on any adapter, as on one without subgroups.
   */
  subgroups?: boolean;
}

/** The two shapes of the heavy kernels: made for a CPU driver, or for a GPU. */
export type KernelShape = 'cpu' | 'gpu';

/** Adapter names of the CPU Vulkan / WebGPU drivers. */
const CPU_DRIVER = /swiftshader|lavapipe|llvmpipe|softpipe|warp|cpu/i;

/**
 * The kernel shape for an adapter: the CPU-driver shapes on a fallback adapter or a CPU driver (recognised by its
 * vendor, architecture, device or description), the GPU shapes elsewhere; `choice` 'cpu' or 'gpu' forces one.
 */
export function kernelShapeFor(
  adapter: Omit<AdapterSummary, 'runtime'>,
  choice: KernelShape | 'auto' = 'auto',
): KernelShape {
  if (choice === 'cpu' || choice === 'gpu') return choice;
  if (choice !== 'auto') throw new Error(`Gpu.create: kernels must be 'gpu', 'cpu' or 'auto', got '${String(choice)}'`);
  if (adapter.isFallbackAdapter) return 'cpu';
  const names = [adapter.vendor, adapter.architecture, adapter.device, adapter.description].join(' ');
  return CPU_DRIVER.test(names) ? 'cpu' : 'gpu';
}

export interface AcquiredDevice {
  device: GPUDevice;
  adapterInfo: AdapterSummary;
  features: ReadonlySet<string>;
  /** Node only: the Dawn instance. It must stay referenced for the life of the device. */
  keepAlive?: unknown;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  runtime: 'browser' | 'node';
}

/** Limits the library raises to whatever the adapter offers. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

const WANTED_FEATURES: GPUFeatureName[] = ['timestamp-query', 'subgroups' as GPUFeatureName];

export const WEBGPU_HELP =
  'WebGPU is not available. In the browser use a recent Chrome or Edge (or enable ' +
  'chrome://flags/#enable-unsafe-webgpu on Linux); in Node install the `webgpu` package and a Vulkan driver ' +
  '(for a CPU-only machine: `apt-get install chromium libvulkan1`, which brings SwiftShader).';

export function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
}

export async function acquireDevice(opts: DeviceOptions = {}): Promise<AcquiredDevice> {
  const found = isNode() ? await nodeAdapter(opts) : await browserAdapter(opts);
  const { adapter, keepAlive, runtime } = found;
  const requiredLimits: Record<string, number> = {};
  if (!opts.defaultLimits) for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const wanted = WANTED_FEATURES.filter(
    (f) =>
      (f !== 'timestamp-query' || opts.timestamps !== false) &&
      (f !== ('subgroups' as GPUFeatureName) || opts.subgroups !== false),
  );
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'webgpu-gat' });
  const info = adapter.info;
  return {
    device,
    keepAlive,
    features: new Set(requiredFeatures),
    adapterInfo: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
      runtime,
    },
  };
}

interface FoundAdapter {
  adapter: GPUAdapter;
  keepAlive?: unknown;
  runtime: 'browser' | 'node';
}

async function browserAdapter(opts: DeviceOptions): Promise<FoundAdapter> {
  if (typeof navigator === 'undefined' || !('gpu' in navigator)) throw new Error(WEBGPU_HELP);
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: opts.powerPreference });
  if (!adapter) throw new Error(`No WebGPU adapter was found. ${WEBGPU_HELP}`);
  return { adapter, runtime: 'browser' };
}

/** In a variable, as `webgpu` below: a browser bundle of the library must not see a Node built-in. */
const NODE_FS = 'node:fs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
/** Mesa's CPU Vulkan driver: Dawn rejects it (with a warning on stderr) and it is never what a user wants here. */
const LAVAPIPE_ICD = 'lvp_icd.*';

/**
 * Node: the `webgpu` package. When the system's Vulkan drivers give no adapter and none was chosen through
 * VK_ICD_FILENAMES / VK_DRIVER_FILES, falls back to Chromium's SwiftShader (a CPU Vulkan driver) and says so.
 *
 * On Linux the system drivers are probed only where a GPU device node exists (/dev/dri/renderD*, /dev/nvidia*,
 * WSL's /dev/dxg), and with lavapipe left out: a machine without a GPU otherwise gets messages from Dawn and the
 * Vulkan loader on stderr (lavapipe lacks a feature Dawn needs; no GPU was found) that nobody can act on before the
 * SwiftShader fallback. Messages from a probe where a GPU exists are left alone: they concern its driver.
 */
async function nodeAdapter(opts: DeviceOptions): Promise<FoundAdapter> {
  // A string specifier in a variable keeps bundlers from pulling the Node-only package into browser builds.
  const pkg = 'webgpu';
  let webgpu: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    webgpu = await import(/* @vite-ignore */ pkg);
  } catch (err) {
    throw new Error(`Could not load the \`webgpu\` package (${(err as Error).message}). ${WEBGPU_HELP}`);
  }
  Object.assign(globalThis, webgpu.globals);
  if (opts.throttlePolling !== false) throttleNativePolling();
  process.env.XDG_RUNTIME_DIR ??= '/tmp'; // silences a Vulkan loader warning on headless machines
  const fs: typeof import('node:fs') = await import(/* @vite-ignore */ NODE_FS);
  const env = process.env;
  const chosen = env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES;
  const linux = process.platform === 'linux';
  const instances: GPU[] = [];
  const tryCreate = async () => {
    const gpu = webgpu.create([]);
    instances.push(gpu);
    return gpu.requestAdapter({ powerPreference: opts.powerPreference });
  };
  const swiftShader = !chosen && fs.existsSync(SWIFTSHADER_ICD);
  let adapter: GPUAdapter | null = null;
  if (chosen || !linux || hasGpuDeviceNode(fs) || !swiftShader) {
    // The loader reads its settings when Dawn creates the Vulkan instance, during requestAdapter.
    const leaveOutLavapipe = linux && !chosen && !env.VK_LOADER_DRIVERS_DISABLE && !env.VK_LOADER_DRIVERS_SELECT;
    if (leaveOutLavapipe) env.VK_LOADER_DRIVERS_DISABLE = LAVAPIPE_ICD;
    try {
      adapter = await tryCreate();
    } finally {
      if (leaveOutLavapipe) delete env.VK_LOADER_DRIVERS_DISABLE;
    }
  }
  if (!adapter && swiftShader) {
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    (opts.log ?? console.error)(`webgpu-gat: no GPU adapter found; using SwiftShader (CPU) from ${SWIFTSHADER_ICD}`);
    adapter = await tryCreate();
  }
  if (!adapter) {
    const hint = chosen ? ` (Vulkan driver file set to ${chosen})` : '';
    throw new Error(`No WebGPU adapter was found in Node${hint}. ${WEBGPU_HELP}`);
  }
  return { adapter, keepAlive: instances, runtime: 'node' };
}

/** Linux: whether a GPU device node that a Vulkan driver could open exists (DRM render node, NVIDIA, WSL). */
function hasGpuDeviceNode(fs: typeof import('node:fs')): boolean {
  const list = (dir: string) => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  };
  return list('/dev/dri').some((n) => n.startsWith('renderD')) || list('/dev').some((n) => /^(nvidia\d+|dxg)$/.test(n));
}

// ---- Node: waiting for the GPU without a busy core ----

/**
 * The `webgpu` package keeps Dawn's events flowing by re-arming setImmediate with a native callback for as long as
 * a promise of its (onSubmittedWorkDone, mapAsync) is pending: a busy loop that takes a whole CPU core. On a CPU
 * driver that core is taken from the driver's own threads (a Cora training step measured 1.5x slower on 2 cores).
 * So once the library's waits (gpuWait) have lasted SPIN_MS, native callbacks given to setImmediate run from a
 * 1 ms timer instead: the same polling, at most a thousand times a second. Short waits (a small read-back) still
 * get an immediate answer, and JavaScript callbacks are left alone.
 */
function throttleNativePolling(): void {
  const g = globalThis as unknown as Record<symbol, boolean> & {
    setImmediate: (fn: (...args: unknown[]) => void, ...args: unknown[]) => unknown;
  };
  const mark = Symbol.for('webgpu-gat.throttledNativePolling');
  if (g[mark]) return;
  g[mark] = true;
  const immediate = g.setImmediate;
  const native = new WeakMap<object, boolean>();
  const isNative = (fn: unknown): boolean => {
    if (typeof fn !== 'function') return false;
    let v = native.get(fn);
    if (v === undefined) native.set(fn, (v = Function.prototype.toString.call(fn).includes('[native code]')));
    return v;
  };
  g.setImmediate = (fn, ...args) => {
    const throttle = waits.pending > 0 && performance.now() - waits.since >= SPIN_MS && isNative(fn);
    return throttle ? setTimeout(fn, 1, ...args) : immediate(fn, ...args);
  };
}

const SPIN_MS = 2;
const waits = { pending: 0, since: 0 };

/** Marks `p` as a wait for the GPU (see throttleNativePolling) and returns a promise that settles with it. */
export function gpuWait<T>(p: Promise<T>): Promise<T> {
  if (waits.pending++ === 0) waits.since = performance.now();
  return p.finally(() => {
    waits.pending--;
  });
}
