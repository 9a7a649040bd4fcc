// Dispatch.swift — fr_op records (eager and in plans), validated once, then
// encoded as setComputePipelineState + setBytes(params, index 0) +
// setBuffer(binding i, index i + 1) + dispatchThreadgroups. A plan replay
// encodes every op of the step into ONE command buffer (one serial compute
// encoder: Metal orders the dispatches and tracks the buffer hazards).
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif
import Metal

let OP_BYTES = 168
let PATCH_BYTES = 20
let HEADER_BYTES = 24
/// setBytes takes at most 4 KiB.
let MAX_PARAMS = 4096

struct Binding {
  var buffer: Int32
  var offset: Int
}

struct Op {
  var kernel: Int32
  var paramsOffset: Int
  var paramsSize: Int
  var grid: MTLSize
  var threadgroup: MTLSize
  var bindings: [Binding]
}

struct Patch {
  var op: Int
  var offset: Int
  var slot: Int
  var scale: Int32
  var bias: Int32
}

final class Plan {
  let dev: Int32
  let ops: [Op]
  let patches: [Patch]
  var params: [UInt8]
  init(dev: Int32, ops: [Op], patches: [Patch], params: [UInt8]) {
    self.dev = dev; self.ops = ops; self.patches = patches; self.params = params
  }
}

@inline(__always) func u32(_ p: UnsafeRawPointer, _ at: Int) -> UInt32 {
  UInt32(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt32.self))
}
@inline(__always) func i32(_ p: UnsafeRawPointer, _ at: Int) -> Int32 {
  Int32(littleEndian: p.loadUnaligned(fromByteOffset: at, as: Int32.self))
}

/// Read one fr_op record (layout of ferrum_shim.h, 168 bytes) without checks.
func readOp(_ p: UnsafeRawPointer) -> (Op, nBindings: UInt32) {
  let n = u32(p, 4)
  var bindings = [Binding]()
  for i in 0..<min(Int(n), FR_MAX_BINDINGS) {
    let at = 40 + 16 * i
    let off = p.loadUnaligned(fromByteOffset: at + 8, as: UInt64.self)
    bindings.append(Binding(buffer: i32(p, at), offset: off > UInt64(Int.max) ? Int.max : Int(off)))
  }
  let op = Op(
    kernel: i32(p, 0), paramsOffset: Int(u32(p, 8)), paramsSize: Int(u32(p, 12)),
    grid: MTLSize(width: Int(u32(p, 16)), height: Int(u32(p, 20)), depth: Int(u32(p, 24))),
    threadgroup: MTLSize(width: Int(u32(p, 28)), height: Int(u32(p, 32)), depth: Int(u32(p, 36))),
    bindings: bindings)
  return (op, n)
}

/// The checks done once (eager: per call; plan: at upload).
func validate(_ op: Op, nBindings: UInt32, dev: Int32, where ctx: String) -> Int32 {
  guard let k = kernels[op.kernel], k.dev == dev else {
    return fail(FR_E_INVALID, "\(ctx): unknown kernel id \(op.kernel)")
  }
  if nBindings > UInt32(FR_MAX_BINDINGS) {
    return fail(FR_E_INVALID, "\(ctx): \(k.name): \(nBindings) bindings, at most \(FR_MAX_BINDINGS)")
  }
  if op.paramsSize == 0 || op.paramsSize > MAX_PARAMS {
    return fail(FR_E_INVALID, "\(ctx): \(k.name): params size \(op.paramsSize) (1..\(MAX_PARAMS) bytes)")
  }
  let tg = op.threadgroup.width * op.threadgroup.height * op.threadgroup.depth
  if tg < 1 || tg > k.pipeline.maxTotalThreadsPerThreadgroup {
    return fail(FR_E_INVALID,
      "\(ctx): \(k.name): threadgroup \(op.threadgroup.width)x\(op.threadgroup.height)x\(op.threadgroup.depth) must have 1..\(k.pipeline.maxTotalThreadsPerThreadgroup) threads")
  }
  for (i, b) in op.bindings.enumerated() where b.buffer != 0 {
    guard let buf = buffers[b.buffer] else {
      return fail(FR_E_INVALID, "\(ctx): \(k.name): binding \(i): bad buffer handle \(b.buffer)")
    }
    if buf.dev != dev {
      return fail(FR_E_INVALID, "\(ctx): \(k.name): binding \(i): buffer \(b.buffer) belongs to another device")
    }
    if b.offset > buf.size {
      return fail(FR_E_INVALID, "\(ctx): \(k.name): binding \(i): offset \(b.offset) is past the end of buffer \(b.buffer) (\(buf.size) bytes)")
    }
  }
  return FR_OK
}

/// Encode one validated op. Returns the kernel name, or nil (with fail()) when
/// a buffer it names has been freed since validation.
func encode(_ enc: any MTLComputeCommandEncoder, _ op: Op, _ params: UnsafeRawPointer) -> String? {
  guard let k = kernels[op.kernel] else {
    fail(FR_E_INVALID, "kernel \(op.kernel) was freed")
    return nil
  }
  if op.grid.width == 0 || op.grid.height == 0 || op.grid.depth == 0 { return k.name }
  enc.setComputePipelineState(k.pipeline)
  enc.setBytes(params, length: op.paramsSize, index: 0)
  for (i, b) in op.bindings.enumerated() where b.buffer != 0 {
    guard let buf = buffers[b.buffer] else {
      fail(FR_E_INVALID, "\(k.name): binding \(i): buffer \(b.buffer) was freed")
      return nil
    }
    enc.setBuffer(buf.mtl, offset: buf.base + b.offset, index: i + 1)
  }
  enc.dispatchThreadgroups(op.grid, threadsPerThreadgroup: op.threadgroup)
  return k.name
}

func commandBufferError(_ cb: any MTLCommandBuffer, _ what: String) -> Int32 {
  if cb.status == .error {
    let msg = cb.error.map { "\($0)" } ?? "unknown error"
    return fail(FR_E_DEVICE, "\(what): command buffer failed: \(msg)")
  }
  return FR_OK
}

/// Wait for every eager command buffer committed without sync.
func syncDevice(_ d: Device) -> Int32 {
  var rc = FR_OK
  for (cb, what) in d.inFlight {
    cb.waitUntilCompleted()
    d.account(cb, what)
    let e = commandBufferError(cb, what)
    if rc == FR_OK { rc = e }
  }
  d.inFlight.removeAll()
  return rc
}

func dispatchEager(_ devHandle: Int32, _ d: Device, _ opBytes: UnsafeRawPointer,
                   _ params: UnsafeRawPointer, _ paramsSize: Int32, _ sync: Bool) -> Int32 {
  let (op, n) = readOp(opBytes)
  if Int(paramsSize) != op.paramsSize {
    return fail(FR_E_INVALID, "fr_dispatch: op says \(op.paramsSize) bytes of params, \(paramsSize) given")
  }
  let rc = validate(op, nBindings: n, dev: devHandle, where: "fr_dispatch")
  if rc != FR_OK { return rc }
  guard let cb = d.queue.makeCommandBuffer(), let enc = cb.makeComputeCommandEncoder() else {
    return fail(FR_E_DEVICE, "fr_dispatch: cannot make a command buffer")
  }
  let name = encode(enc, op, params)
  enc.endEncoding()
  guard let what = name else { return FR_E_INVALID }
  cb.commit()
  d.inFlight.append((cb, what))
  return sync ? syncDevice(d) : FR_OK
}

func newPlan(_ devHandle: Int32, _ blob: UnsafeRawPointer, _ bytes: Int) -> Int32 {
  if bytes < HEADER_BYTES { return fail(FR_E_INVALID, "plan blob is shorter than its header") }
  if u32(blob, 0) != FR_PLAN_MAGIC { return fail(FR_E_INVALID, "plan blob has a bad magic") }
  if u32(blob, 4) != UInt32(FR_ABI_VERSION) {
    return fail(FR_E_INVALID, "plan blob is version \(u32(blob, 4)), this executor reads \(FR_ABI_VERSION)")
  }
  let nOps = Int(u32(blob, 8)), nPatches = Int(u32(blob, 12)), paramsBytes = Int(u32(blob, 16))
  let want = HEADER_BYTES + nOps * OP_BYTES + nPatches * PATCH_BYTES + paramsBytes
  if bytes != want {
    return fail(FR_E_INVALID, "plan blob is \(bytes) bytes, its header says \(want)")
  }
  var ops = [Op]()
  ops.reserveCapacity(nOps)
  for i in 0..<nOps {
    let (op, n) = readOp(blob + HEADER_BYTES + i * OP_BYTES)
    let rc = validate(op, nBindings: n, dev: devHandle, where: "plan op \(i)")
    if rc != FR_OK { return rc }
    if op.paramsOffset % 4 != 0 || op.paramsOffset + op.paramsSize > paramsBytes {
      return fail(FR_E_INVALID, "plan op \(i): params \(op.paramsOffset)+\(op.paramsSize) outside the \(paramsBytes)-byte params blob")
    }
    ops.append(op)
  }
  var patches = [Patch]()
  let pp = blob + HEADER_BYTES + nOps * OP_BYTES
  for i in 0..<nPatches {
    let p = pp + i * PATCH_BYTES
    let patch = Patch(op: Int(u32(p, 0)), offset: Int(u32(p, 4)), slot: Int(u32(p, 8)),
                      scale: i32(p, 12), bias: i32(p, 16))
    if patch.op >= nOps || patch.slot >= FR_MAX_SLOTS || patch.offset % 4 != 0
        || patch.offset + 4 > ops[patch.op].paramsSize {
      return fail(FR_E_INVALID, "plan patch \(i): op \(patch.op), offset \(patch.offset), slot \(patch.slot) is out of range")
    }
    patches.append(patch)
  }
  let params = [UInt8](UnsafeRawBufferPointer(start: pp + nPatches * PATCH_BYTES, count: paramsBytes))
  let h = newHandle()
  plans[h] = Plan(dev: devHandle, ops: ops, patches: patches, params: params)
  return h
}

func runPlan(_ planHandle: Int32, _ slots: [Int32]) -> Int32 {
  guard let plan = plans[planHandle] else { return fail(FR_E_INVALID, "fr_plan_run: bad plan handle \(planHandle)") }
  guard let d = devices[plan.dev] else { return fail(FR_E_INVALID, "fr_plan_run: the plan's device is closed") }
  let rc0 = syncDevice(d)
  if rc0 != FR_OK { return rc0 }
  for p in plan.patches {
    let v = slots[p.slot] &* p.scale &+ p.bias
    let at = plan.ops[p.op].paramsOffset + p.offset
    plan.params.withUnsafeMutableBytes { $0.storeBytes(of: v.littleEndian, toByteOffset: at, as: Int32.self) }
  }
  guard let cb = d.queue.makeCommandBuffer(), let enc = cb.makeComputeCommandEncoder() else {
    return fail(FR_E_DEVICE, "fr_plan_run: cannot make a command buffer")
  }
  var ok = true
  plan.params.withUnsafeBytes { raw in
    for op in plan.ops where ok {
      ok = encode(enc, op, raw.baseAddress! + op.paramsOffset) != nil
    }
  }
  enc.endEncoding()
  if !ok { return FR_E_INVALID }
  cb.commit()
  cb.waitUntilCompleted()
  d.account(cb, "plan replay (\(plan.ops.count) ops)")
  return commandBufferError(cb, "fr_plan_run")
}
