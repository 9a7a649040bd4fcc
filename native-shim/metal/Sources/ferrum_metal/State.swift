// State.swift — handles, errors, the lock, and environment flags of the Metal
// executor. Every exported function (Exports.swift) takes `lock` and works on
// the tables here; objects are int32 handles > 0, failures are FR_E_* codes
// with a message for fr_last_error(). Nothing here calls fatalError.
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif
import Metal

// FR_* from native-shim/include/ferrum_shim.h
let FR_ABI_VERSION: Int32 = 1
let FR_MAX_BINDINGS = 8
let FR_PLAN_MAGIC: UInt32 = 0x4C50_5246
let FR_MAX_SLOTS = 4
let FR_OK: Int32 = 0
let FR_E_INVALID: Int32 = -1
let FR_E_NOMEM: Int32 = -2
let FR_E_IO: Int32 = -3
let FR_E_UNSUPPORTED: Int32 = -4
let FR_E_DEVICE: Int32 = -5

/// Wrapped ranges of the mmapped file are rounded out to this (Apple Silicon's page).
let WRAP_PAGE = 16384

final class Lock {
  private let m: UnsafeMutablePointer<pthread_mutex_t>
  init() {
    m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    m.initialize(to: pthread_mutex_t())
    pthread_mutex_init(m, nil)
  }
  func with<T>(_ body: () -> T) -> T {
    pthread_mutex_lock(m)
    defer { pthread_mutex_unlock(m) }
    return body()
  }
}

let lock = Lock()

// --- errors ---
private var lastError: UnsafeMutablePointer<CChar>? = strdup("")

/// Record `message` for fr_last_error() and return `code`.
@discardableResult
func fail(_ code: Int32, _ message: String) -> Int32 {
  let msg = message.utf8.count > 2000 ? String(message.prefix(2000)) + "..." : message
  free(lastError)
  lastError = strdup("metal: " + msg)
  return code
}

func lastErrorPointer() -> UnsafePointer<CChar>? { UnsafePointer(lastError) }

// --- environment ---
func envFlag(_ name: String) -> Bool {
  guard let v = getenv(name) else { return false }
  let s = String(cString: v).lowercased()
  return !s.isEmpty && s != "0" && s != "false"
}

let traceMmap = envFlag("FERRUM_TRACE_MMAP")
let profileOn = envFlag("FERRUM_PROFILE")

func stderrLine(_ s: String) {
  fputs("ferrum-metal: " + s + "\n", stderr)
}

// --- objects ---
final class Device {
  let mtl: any MTLDevice
  let queue: any MTLCommandQueue
  let name: UnsafeMutablePointer<CChar>?
  /// One library per .metal file, compiled at the first fr_kernel.
  var libraries: [any MTLLibrary] = []
  var kernelByName: [String: Int32] = [:]
  /// Eager command buffers committed without sync, with their kernel names.
  var inFlight: [(cb: any MTLCommandBuffer, what: String)] = []
  /// FERRUM_PROFILE: GPU seconds and counts by kernel name (eager) or plan.
  var gpuTime: [String: (count: Int, seconds: Double)] = [:]
  init(mtl: any MTLDevice, queue: any MTLCommandQueue) {
    self.mtl = mtl
    self.queue = queue
    self.name = strdup("metal (\(mtl.name))")
  }
  deinit { free(name) }

  func account(_ cb: any MTLCommandBuffer, _ what: String) {
    guard profileOn else { return }
    let dt = cb.gpuEndTime - cb.gpuStartTime
    let old = gpuTime[what] ?? (0, 0)
    gpuTime[what] = (old.count + 1, old.seconds + (dt > 0 ? dt : 0))
  }

  /// Printed at fr_device_close, or at exit for devices still open.
  func printProfile() {
    guard profileOn, !gpuTime.isEmpty else { return }
    defer { gpuTime.removeAll() }
    let rows = gpuTime.sorted { $0.value.seconds > $1.value.seconds }
    let total = rows.reduce(0.0) { $0 + $1.value.seconds }
    stderrLine("GPU time (gpuEndTime - gpuStartTime of each command buffer): \(fmtMs(total)) ms in total")
    for (what, v) in rows {
      stderrLine("  \(what): \(v.count) x, \(fmtMs(v.seconds)) ms, \(fmtMs(v.seconds / Double(v.count))) ms each")
    }
  }
}

private var profileAtExit = false
/// FERRUM_PROFILE: print the GPU times of devices still open when the process exits.
func registerProfileAtExit() {
  guard profileOn, !profileAtExit else { return }
  profileAtExit = true
  atexit { lock.with { for d in devices.values { d.printProfile() } } }
}

func fmtMs(_ seconds: Double) -> String {
  let ms = (seconds * 1000 * 1000).rounded() / 1000
  return "\(ms)"
}

final class FileMap {
  let dev: Int32
  let base: UnsafeMutableRawPointer
  let size: Int
  /// Bytes of the mapping that may be wrapped: size rounded up to a host page.
  let span: Int
  var wrappers = 0
  init(dev: Int32, base: UnsafeMutableRawPointer, size: Int, span: Int) {
    self.dev = dev; self.base = base; self.size = size; self.span = span
  }
}

final class Buffer {
  let dev: Int32
  let mtl: any MTLBuffer
  /// Where the buffer's byte 0 is inside `mtl` (a wrap's in-page offset).
  let base: Int
  let size: Int
  /// The map this buffer wraps without copying (0: none).
  let map: Int32
  init(dev: Int32, mtl: any MTLBuffer, base: Int, size: Int, map: Int32) {
    self.dev = dev; self.mtl = mtl; self.base = base; self.size = size; self.map = map
  }
  var contents: UnsafeMutableRawPointer { mtl.contents() + base }
}

final class Kernel {
  let dev: Int32
  let name: String
  let pipeline: any MTLComputePipelineState
  init(dev: Int32, name: String, pipeline: any MTLComputePipelineState) {
    self.dev = dev; self.name = name; self.pipeline = pipeline
  }
}

var devices: [Int32: Device] = [:]
var maps: [Int32: FileMap] = [:]
var buffers: [Int32: Buffer] = [:]
var kernels: [Int32: Kernel] = [:]
var plans: [Int32: Plan] = [:]

private var nextHandle: Int32 = 1
func newHandle() -> Int32 {
  let h = nextHandle
  nextHandle = nextHandle == Int32.max ? 1 : nextHandle + 1
  return h
}

func device(_ h: Int32, _ fn: String) -> Device? {
  if let d = devices[h] { return d }
  fail(FR_E_INVALID, "\(fn): bad device handle \(h)")
  return nil
}

func cString(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }
