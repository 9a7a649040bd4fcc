// EmuBacked.swift — an optional "GPU" behind the stand-in Metal: with
// FERRUM_STANDIN_EMU=<path of libferrum_metalemu.so> (tools/metal-emu, built
// by scripts/build-metal-emu.mjs), MTLCreateSystemDefaultDevice() returns a
// device whose encoder runs each dispatch through the MSL emulator, so the
// Swift shim's own code (buffers, wraps, plans, patches, encoding) runs the
// real metal/*.metal kernels on Linux. Test-only; not Apple's behaviour:
// makeLibrary(source:) does not compile (the emulator compiles metal/ itself),
// bytesNoCopy copies, and dispatches run synchronously at encode time.
#if canImport(Glibc)
import Glibc

typealias EmuI32 = @convention(c) (Int32) -> Int32
typealias EmuErr = @convention(c) () -> UnsafePointer<CChar>?
typealias EmuNew = @convention(c) (Int32, Int64) -> Int32
typealias EmuContents = @convention(c) (Int32) -> UnsafeMutableRawPointer?
typealias EmuKernel = @convention(c) (Int32, UnsafePointer<CChar>?) -> Int32
typealias EmuDispatch = @convention(c) (Int32, UnsafePointer<UInt8>?, UnsafePointer<UInt8>?, Int32, Int32) -> Int32

struct EmuError: Error, CustomStringConvertible { let description: String }

final class Emu {
  let deviceOpen: EmuI32, lastError: EmuErr, bufferNew: EmuNew, bufferFree: EmuI32
  let contents: EmuContents, kernel: EmuKernel, dispatch: EmuDispatch
  let dev: Int32
  init?(path: String) {
    // RTLD_DEEPBIND (0x8): the emulator's own fr_* calls stay inside it, not
    // in the Swift shim that exports the same names.
    guard let h = dlopen(path, RTLD_NOW | RTLD_LOCAL | 0x8) else { return nil }
    func sym<T>(_ n: String, _: T.Type) -> T? { dlsym(h, n).map { unsafeBitCast($0, to: T.self) } }
    guard let o = sym("fr_device_open", EmuI32.self), let e = sym("fr_last_error", EmuErr.self),
          let n = sym("fr_buffer_new", EmuNew.self), let f = sym("fr_buffer_free", EmuI32.self),
          let c = sym("fr_buffer_contents", EmuContents.self), let k = sym("fr_kernel", EmuKernel.self),
          let d = sym("fr_dispatch", EmuDispatch.self) else { return nil }
    deviceOpen = o; lastError = e; bufferNew = n; bufferFree = f; contents = c; kernel = k; dispatch = d
    dev = o(1)
    if dev <= 0 { return nil }
  }
  var message: String { lastError().map { String(cString: $0) } ?? "?" }
}

final class EmuDevice: MTLDevice {
  let emu: Emu
  init(emu: Emu) { self.emu = emu }
  var name: String { "MSL emulator (stand-in Metal)" }
  var recommendedMaxWorkingSetSize: UInt64 { 1 << 32 }
  var maxBufferLength: Int { 1 << 32 }
  func makeCommandQueue() -> (any MTLCommandQueue)? { EmuQueue(emu: emu) }
  func makeBuffer(length: Int, options: MTLResourceOptions) -> (any MTLBuffer)? {
    let h = emu.bufferNew(emu.dev, Int64(length))
    return h > 0 ? EmuBuffer(device: self, handle: h, length: length) : nil
  }
  func makeBuffer(bytes pointer: UnsafeRawPointer, length: Int, options: MTLResourceOptions) -> (any MTLBuffer)? {
    guard let b = makeBuffer(length: length, options: options) else { return nil }
    memcpy(b.contents(), pointer, length)
    return b
  }
  func makeBuffer(bytesNoCopy pointer: UnsafeMutableRawPointer, length: Int, options: MTLResourceOptions,
                  deallocator: ((UnsafeMutableRawPointer, Int) -> Void)?) -> (any MTLBuffer)? {
    makeBuffer(bytes: UnsafeRawPointer(pointer), length: length, options: options)
  }
  func makeLibrary(source: String, options: MTLCompileOptions?) throws -> any MTLLibrary {
    if !source.contains("kernel") { throw EmuError(description: "no kernels in the source") }
    return EmuLibrary(emu: emu)
  }
  func makeComputePipelineState(function computeFunction: any MTLFunction) throws -> any MTLComputePipelineState {
    guard let f = computeFunction as? EmuFunction else { throw EmuError(description: "not an emulator function") }
    return EmuPipeline(kernel: f.kernel)
  }
}

final class EmuBuffer: MTLBuffer {
  var label: String?
  let device: any MTLDevice
  let handle: Int32
  let length: Int
  init(device: EmuDevice, handle: Int32, length: Int) { self.device = device; self.handle = handle; self.length = length }
  func contents() -> UnsafeMutableRawPointer { (device as! EmuDevice).emu.contents(handle)! }
  deinit { _ = (device as! EmuDevice).emu.bufferFree(handle) }
}

final class EmuFunction: MTLFunction {
  let name: String
  let kernel: Int32
  init(name: String, kernel: Int32) { self.name = name; self.kernel = kernel }
}

final class EmuLibrary: MTLLibrary {
  let emu: Emu
  init(emu: Emu) { self.emu = emu }
  var functionNames: [String] { [] }
  func makeFunction(name functionName: String) -> (any MTLFunction)? {
    let k = emu.kernel(emu.dev, functionName)
    return k > 0 ? EmuFunction(name: functionName, kernel: k) : nil
  }
}

final class EmuPipeline: MTLComputePipelineState {
  let kernel: Int32
  init(kernel: Int32) { self.kernel = kernel }
  var maxTotalThreadsPerThreadgroup: Int { 1024 }
  var threadExecutionWidth: Int { 32 }
}

final class EmuQueue: MTLCommandQueue {
  let emu: Emu
  init(emu: Emu) { self.emu = emu }
  func makeCommandBuffer() -> (any MTLCommandBuffer)? { EmuCommandBuffer(emu: emu) }
}

final class EmuCommandBuffer: MTLCommandBuffer {
  let emu: Emu
  var status: MTLCommandBufferStatus = .notEnqueued
  var error: (any Error)?
  var gpuStartTime: CFTimeInterval = 0
  var gpuEndTime: CFTimeInterval = 0
  init(emu: Emu) { self.emu = emu }
  func makeComputeCommandEncoder() -> (any MTLComputeCommandEncoder)? { EmuEncoder(cb: self) }
  func commit() { if status != .error { status = .completed } }
  func waitUntilCompleted() {}
}

/// Each dispatch becomes one fr_op record for the emulator, run at once.
final class EmuEncoder: MTLComputeCommandEncoder {
  let cb: EmuCommandBuffer
  var kernel: Int32 = 0
  var params = [UInt8]()
  var bound = [Int: (handle: Int32, offset: Int)]()
  init(cb: EmuCommandBuffer) { self.cb = cb }
  func endEncoding() {}
  func setComputePipelineState(_ state: any MTLComputePipelineState) { kernel = (state as! EmuPipeline).kernel }
  func setBytes(_ bytes: UnsafeRawPointer, length: Int, index: Int) {
    params = [UInt8](UnsafeRawBufferPointer(start: bytes, count: length))
  }
  func setBuffer(_ buffer: (any MTLBuffer)?, offset: Int, index: Int) {
    if let b = buffer as? EmuBuffer { bound[index] = (b.handle, offset) }
  }
  func dispatchThreadgroups(_ threadgroupsPerGrid: MTLSize, threadsPerThreadgroup: MTLSize) {
    if cb.status == .error { return }
    var op = [UInt8](repeating: 0, count: 168)
    let n = (bound.keys.max() ?? 0)
    func put32(_ v: UInt32, _ at: Int) { withUnsafeBytes(of: v.littleEndian) { for i in 0..<4 { op[at + i] = $0[i] } } }
    put32(UInt32(bitPattern: kernel), 0)
    put32(UInt32(n), 4)
    put32(UInt32(params.count), 12)
    let g = threadgroupsPerGrid, t = threadsPerThreadgroup
    for (i, v) in [g.width, g.height, g.depth, t.width, t.height, t.depth].enumerated() { put32(UInt32(v), 16 + 4 * i) }
    for i in 0..<n {
      guard let b = bound[i + 1] else { continue }
      put32(UInt32(bitPattern: b.handle), 40 + 16 * i)
      withUnsafeBytes(of: UInt64(b.offset).littleEndian) { for j in 0..<8 { op[40 + 16 * i + 8 + j] = $0[j] } }
    }
    // Metal keeps bindings across dispatches; the emulator wants exactly the
    // kernel's count, and the shim binds every op's buffers afresh.
    bound.removeAll()
    let rc = cb.emu.dispatch(cb.emu.dev, op, params, Int32(params.count), 1)
    if rc != 0 {
      cb.status = .error
      cb.error = EmuError(description: "metal-emu: \(cb.emu.message)")
    }
  }
}

func emuBackedDevice() -> (any MTLDevice)? {
  guard let path = getenv("FERRUM_STANDIN_EMU"), let emu = Emu(path: String(cString: path)) else { return nil }
  return EmuDevice(emu: emu)
}
#else
func emuBackedDevice() -> (any MTLDevice)? { nil }
#endif
