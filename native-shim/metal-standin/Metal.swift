// Metal.swift — a stand-in `Metal` module for checking the Swift shim on Linux.
//
// It declares exactly the subset of Apple's Metal API that native-shim/metal
// uses, with Apple's Swift signatures (as the Objective-C API imports into
// Swift), so `scripts/check-swift` can type-check and build the shim without a
// Mac. Nothing here runs a GPU: MTLCreateSystemDefaultDevice() returns nil, as
// on a machine without Metal, so the shim's "no device" path is what runs —
// unless FERRUM_STANDIN_EMU names the MSL emulator (see EmuBacked.swift).
// Keep it in step with the shim: a new Metal call there needs its declaration
// here, copied from Apple's documentation (never invented).

public typealias CFTimeInterval = Double

public struct MTLSize {
  public var width: Int
  public var height: Int
  public var depth: Int
  public init() { width = 0; height = 0; depth = 0 }
  public init(width: Int, height: Int, depth: Int) {
    self.width = width; self.height = height; self.depth = depth
  }
}

public struct MTLResourceOptions: OptionSet {
  public let rawValue: UInt
  public init(rawValue: UInt) { self.rawValue = rawValue }
  public static let storageModeShared = MTLResourceOptions([])
  public static let storageModePrivate = MTLResourceOptions(rawValue: 2 << 4)
  public static let hazardTrackingModeUntracked = MTLResourceOptions(rawValue: 2 << 8)
}

public enum MTLCommandBufferStatus: UInt {
  case notEnqueued = 0, enqueued = 1, committed = 2, scheduled = 3, completed = 4, error = 5
}

public enum MTLLanguageVersion: UInt {
  case version3_0 = 196608
  case version3_1 = 196609
}

open class MTLCompileOptions {
  public init() {}
  open var preprocessorMacros: [String: Any]? = nil
  open var languageVersion: MTLLanguageVersion = .version3_0
}

public protocol MTLResource: AnyObject {
  var label: String? { get set }
  var device: any MTLDevice { get }
}

public protocol MTLBuffer: MTLResource {
  var length: Int { get }
  func contents() -> UnsafeMutableRawPointer
}

public protocol MTLFunction: AnyObject {
  var name: String { get }
}

public protocol MTLLibrary: AnyObject {
  var functionNames: [String] { get }
  func makeFunction(name functionName: String) -> (any MTLFunction)?
}

public protocol MTLComputePipelineState: AnyObject {
  var maxTotalThreadsPerThreadgroup: Int { get }
  var threadExecutionWidth: Int { get }
}

public protocol MTLCommandEncoder: AnyObject {
  func endEncoding()
}

public protocol MTLComputeCommandEncoder: MTLCommandEncoder {
  func setComputePipelineState(_ state: any MTLComputePipelineState)
  func setBytes(_ bytes: UnsafeRawPointer, length: Int, index: Int)
  func setBuffer(_ buffer: (any MTLBuffer)?, offset: Int, index: Int)
  func dispatchThreadgroups(_ threadgroupsPerGrid: MTLSize, threadsPerThreadgroup: MTLSize)
}

public protocol MTLCommandBuffer: AnyObject {
  var status: MTLCommandBufferStatus { get }
  var error: (any Error)? { get }
  var gpuStartTime: CFTimeInterval { get }
  var gpuEndTime: CFTimeInterval { get }
  func makeComputeCommandEncoder() -> (any MTLComputeCommandEncoder)?
  func commit()
  func waitUntilCompleted()
}

public protocol MTLCommandQueue: AnyObject {
  func makeCommandBuffer() -> (any MTLCommandBuffer)?
}

public protocol MTLDevice: AnyObject {
  var name: String { get }
  var recommendedMaxWorkingSetSize: UInt64 { get }
  var maxBufferLength: Int { get }
  func makeCommandQueue() -> (any MTLCommandQueue)?
  func makeBuffer(length: Int, options: MTLResourceOptions) -> (any MTLBuffer)?
  func makeBuffer(bytes pointer: UnsafeRawPointer, length: Int, options: MTLResourceOptions) -> (any MTLBuffer)?
  func makeBuffer(bytesNoCopy pointer: UnsafeMutableRawPointer, length: Int, options: MTLResourceOptions,
                  deallocator: ((UnsafeMutableRawPointer, Int) -> Void)?) -> (any MTLBuffer)?
  func makeLibrary(source: String, options: MTLCompileOptions?) throws -> any MTLLibrary
  func makeComputePipelineState(function computeFunction: any MTLFunction) throws -> any MTLComputePipelineState
}

/// No GPU on Linux: the shim must report FR_E_DEVICE with a message. With
/// FERRUM_STANDIN_EMU set, a device backed by the MSL emulator (EmuBacked.swift).
public func MTLCreateSystemDefaultDevice() -> (any MTLDevice)? { emuBackedDevice() }
