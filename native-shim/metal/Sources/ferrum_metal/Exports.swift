// Exports.swift — the C ABI of native-shim/include/ferrum_shim.h, as @_cdecl
// functions (plain C symbols of libferrum_metal.dylib). Each takes the lock
// and returns a handle (> 0), FR_OK, or a negative FR_E_* code with a message
// for fr_last_error(). The device comes from MTLCreateSystemDefaultDevice().
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif
import Metal

@_cdecl("fr_abi_version")
public func fr_abi_version() -> Int32 { FR_ABI_VERSION }

@_cdecl("fr_last_error")
public func fr_last_error() -> UnsafePointer<CChar>? { lock.with { lastErrorPointer() } }

@_cdecl("fr_device_open")
public func fr_device_open(_ nThreads: Int32) -> Int32 {
  lock.with {
    guard let mtl = MTLCreateSystemDefaultDevice() else {
      return fail(FR_E_DEVICE, "no Metal device (MTLCreateSystemDefaultDevice() returned nil); use the CPU backend")
    }
    guard let queue = mtl.makeCommandQueue() else {
      return fail(FR_E_DEVICE, "cannot make a command queue on \(mtl.name)")
    }
    let h = newHandle()
    devices[h] = Device(mtl: mtl, queue: queue)
    registerProfileAtExit()
    return h
  }
}

@_cdecl("fr_device_close")
public func fr_device_close(_ dev: Int32) -> Int32 {
  lock.with {
    guard let d = device(dev, "fr_device_close") else { return FR_E_INVALID }
    return closeDevice(dev, d)
  }
}

private let emptyString: UnsafeMutablePointer<CChar>? = strdup("")

/// Never NULL (callers read it as a C string): "" for a bad handle.
@_cdecl("fr_device_name")
public func fr_device_name(_ dev: Int32) -> UnsafePointer<CChar>? {
  lock.with { UnsafePointer(device(dev, "fr_device_name")?.name ?? emptyString) }
}

/// The GPU schedules its own threads; 1 says "not a CPU thread pool".
@_cdecl("fr_device_threads")
public func fr_device_threads(_ dev: Int32) -> Int32 {
  lock.with { device(dev, "fr_device_threads") == nil ? FR_E_INVALID : 1 }
}

@_cdecl("fr_device_memory")
public func fr_device_memory(_ dev: Int32) -> Int64 {
  lock.with {
    guard let d = device(dev, "fr_device_memory") else { return Int64(FR_E_INVALID) }
    let w = d.mtl.recommendedMaxWorkingSetSize
    return w > UInt64(Int64.max) ? Int64.max : Int64(w)
  }
}

@_cdecl("fr_map_file")
public func fr_map_file(_ dev: Int32, _ path: UnsafePointer<CChar>?) -> Int32 {
  lock.with {
    guard device(dev, "fr_map_file") != nil else { return FR_E_INVALID }
    guard let p = cString(path) else { return fail(FR_E_INVALID, "fr_map_file: path is NULL") }
    return mapFile(dev, p)
  }
}

@_cdecl("fr_map_size")
public func fr_map_size(_ map: Int32) -> Int64 {
  lock.with {
    guard let m = maps[map] else { return Int64(fail(FR_E_INVALID, "fr_map_size: bad map handle \(map)")) }
    return Int64(m.size)
  }
}

@_cdecl("fr_map_close")
public func fr_map_close(_ map: Int32) -> Int32 { lock.with { closeMap(map) } }

@_cdecl("fr_buffer_new")
public func fr_buffer_new(_ dev: Int32, _ bytes: Int64) -> Int32 {
  lock.with {
    guard let d = device(dev, "fr_buffer_new") else { return FR_E_INVALID }
    return newBuffer(dev, d, bytes)
  }
}

@_cdecl("fr_buffer_wrap")
public func fr_buffer_wrap(_ dev: Int32, _ map: Int32, _ offset: Int64, _ bytes: Int64) -> Int32 {
  lock.with {
    guard let d = device(dev, "fr_buffer_wrap") else { return FR_E_INVALID }
    return wrapBuffer(dev, d, map, offset, bytes)
  }
}

@_cdecl("fr_buffer_contents")
public func fr_buffer_contents(_ buf: Int32) -> UnsafeMutableRawPointer? {
  lock.with {
    guard let b = buffers[buf] else {
      fail(FR_E_INVALID, "fr_buffer_contents: bad buffer handle \(buf)")
      return nil
    }
    return b.contents
  }
}

@_cdecl("fr_buffer_size")
public func fr_buffer_size(_ buf: Int32) -> Int64 {
  lock.with {
    guard let b = buffers[buf] else { return Int64(fail(FR_E_INVALID, "fr_buffer_size: bad buffer handle \(buf)")) }
    return Int64(b.size)
  }
}

@_cdecl("fr_buffer_free")
public func fr_buffer_free(_ buf: Int32) -> Int32 { lock.with { freeBuffer(buf) } }

@_cdecl("fr_kernel")
public func fr_kernel(_ dev: Int32, _ name: UnsafePointer<CChar>?) -> Int32 {
  lock.with {
    guard let d = device(dev, "fr_kernel") else { return FR_E_INVALID }
    guard let n = cString(name) else { return fail(FR_E_INVALID, "fr_kernel: name is NULL") }
    return kernelHandle(dev, d, n)
  }
}

@_cdecl("fr_dispatch")
public func fr_dispatch(_ dev: Int32, _ op: UnsafePointer<UInt8>?, _ params: UnsafePointer<UInt8>?,
                        _ paramsSize: Int32, _ sync: Int32) -> Int32 {
  lock.with {
    guard let d = device(dev, "fr_dispatch") else { return FR_E_INVALID }
    guard let op = op else { return fail(FR_E_INVALID, "fr_dispatch: op is NULL") }
    guard let params = params, paramsSize > 0 else {
      return fail(FR_E_INVALID, "fr_dispatch: bad params (\(paramsSize) bytes)")
    }
    return dispatchEager(dev, d, UnsafeRawPointer(op), UnsafeRawPointer(params), paramsSize, sync != 0)
  }
}

@_cdecl("fr_sync")
public func fr_sync(_ dev: Int32) -> Int32 {
  lock.with {
    guard let d = device(dev, "fr_sync") else { return FR_E_INVALID }
    return syncDevice(d)
  }
}

@_cdecl("fr_plan_new")
public func fr_plan_new(_ dev: Int32, _ blob: UnsafePointer<UInt8>?, _ bytes: Int64) -> Int32 {
  lock.with {
    guard device(dev, "fr_plan_new") != nil else { return FR_E_INVALID }
    guard let blob = blob, bytes >= 0, bytes <= Int64(Int32.max) else {
      return fail(FR_E_INVALID, "plan blob is shorter than its header")
    }
    return newPlan(dev, UnsafeRawPointer(blob), Int(bytes))
  }
}

@_cdecl("fr_plan_run")
public func fr_plan_run(_ plan: Int32, _ s0: Int32, _ s1: Int32, _ s2: Int32, _ s3: Int32) -> Int32 {
  lock.with { runPlan(plan, [s0, s1, s2, s3]) }
}

@_cdecl("fr_plan_free")
public func fr_plan_free(_ plan: Int32) -> Int32 {
  lock.with {
    guard plans[plan] != nil else { return fail(FR_E_INVALID, "fr_plan_free: bad plan handle \(plan)") }
    plans[plan] = nil
    return FR_OK
  }
}
