// Memory.swift — the read-only mmap of the GGUF file, shared scratch buffers,
// and zero-copy wrappers over page-aligned ranges of the mapping
// (makeBuffer(bytesNoCopy:), bound at the in-page offset), with a copy as the
// fallback where Metal refuses the wrapper (said under FERRUM_TRACE_MMAP=1).
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif
import Metal

func mapFile(_ devHandle: Int32, _ path: String) -> Int32 {
  let fd = open(path, O_RDONLY)
  if fd < 0 { return fail(FR_E_IO, "cannot open \(path): \(String(cString: strerror(errno)))") }
  defer { close(fd) }
  var st = stat()
  if fstat(fd, &st) != 0 { return fail(FR_E_IO, "cannot stat \(path): \(String(cString: strerror(errno)))") }
  let size = Int(st.st_size)
  if size <= 0 { return fail(FR_E_IO, "\(path) is empty") }
  guard let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), Int(bitPattern: p) != -1 else {
    return fail(FR_E_IO, "cannot mmap \(path): \(String(cString: strerror(errno)))")
  }
  let page = Int(getpagesize())
  let span = (size + page - 1) / page * page
  let h = newHandle()
  maps[h] = FileMap(dev: devHandle, base: p, size: size, span: span)
  if traceMmap { stderrLine("map \(h): \(path), \(size) bytes at \(p)") }
  return h
}

func closeMap(_ h: Int32) -> Int32 {
  guard let m = maps[h] else { return fail(FR_E_INVALID, "fr_map_close: bad map handle \(h)") }
  if m.wrappers > 0 { return fail(FR_E_INVALID, "fr_map_close: \(m.wrappers) buffers still wrap map \(h)") }
  munmap(m.base, m.size)
  maps[h] = nil
  return FR_OK
}

func newBuffer(_ devHandle: Int32, _ d: Device, _ bytes: Int64) -> Int32 {
  if bytes < 0 { return fail(FR_E_INVALID, "fr_buffer_new: negative size \(bytes)") }
  let length = max(16, (Int(bytes) + 15) / 16 * 16)
  if length > d.mtl.maxBufferLength {
    return fail(FR_E_NOMEM, "fr_buffer_new: \(bytes) bytes is over the device's maxBufferLength (\(d.mtl.maxBufferLength))")
  }
  guard let b = d.mtl.makeBuffer(length: length, options: .storageModeShared) else {
    return fail(FR_E_NOMEM, "fr_buffer_new: cannot allocate \(bytes) bytes")
  }
  memset(b.contents(), 0, length)
  let h = newHandle()
  buffers[h] = Buffer(dev: devHandle, mtl: b, base: 0, size: Int(bytes), map: 0)
  return h
}

func wrapBuffer(_ devHandle: Int32, _ d: Device, _ mapHandle: Int32, _ offset: Int64, _ bytes: Int64) -> Int32 {
  guard let m = maps[mapHandle], m.dev == devHandle else {
    return fail(FR_E_INVALID, "fr_buffer_wrap: bad map handle \(mapHandle)")
  }
  if offset < 0 || bytes < 0 || offset > Int64(m.size) || bytes > Int64(m.size) - offset {
    return fail(FR_E_INVALID, "fr_buffer_wrap: range \(offset)+\(bytes) is outside the \(m.size)-byte file")
  }
  let off = Int(offset), n = Int(bytes)
  if n == 0 { return newBuffer(devHandle, d, 0) }
  // Round the range out to 16 KiB pages; bind at the in-page offset.
  let start = off / WRAP_PAGE * WRAP_PAGE
  let end = min((off + n + WRAP_PAGE - 1) / WRAP_PAGE * WRAP_PAGE, m.span)
  if end - start <= d.mtl.maxBufferLength,
     let b = d.mtl.makeBuffer(bytesNoCopy: m.base + start, length: end - start,
                              options: .storageModeShared, deallocator: nil) {
    let h = newHandle()
    buffers[h] = Buffer(dev: devHandle, mtl: b, base: off - start, size: n, map: mapHandle)
    m.wrappers += 1
    if traceMmap { stderrLine("wrap \(h): map \(mapHandle) [\(off), +\(n)) zero-copy (pages [\(start), \(end)))") }
    return h
  }
  if n > d.mtl.maxBufferLength {
    return fail(FR_E_NOMEM, "fr_buffer_wrap: \(n) bytes is over the device's maxBufferLength (\(d.mtl.maxBufferLength))")
  }
  guard let b = d.mtl.makeBuffer(bytes: UnsafeRawPointer(m.base + off), length: n, options: .storageModeShared) else {
    return fail(FR_E_NOMEM, "fr_buffer_wrap: Metal refused both a wrapper and a copy of \(n) bytes")
  }
  let h = newHandle()
  buffers[h] = Buffer(dev: devHandle, mtl: b, base: 0, size: n, map: 0)
  if traceMmap { stderrLine("wrap \(h): map \(mapHandle) [\(off), +\(n)): Metal refused bytesNoCopy, COPIED \(n) bytes") }
  return h
}

func freeBuffer(_ h: Int32) -> Int32 {
  guard let b = buffers[h] else { return fail(FR_E_INVALID, "fr_buffer_free: bad buffer handle \(h)") }
  if b.map != 0, let m = maps[b.map] { m.wrappers -= 1 }
  buffers[h] = nil
  return FR_OK
}

/// fr_device_close: wait, then drop everything the device owns.
func closeDevice(_ h: Int32, _ d: Device) -> Int32 {
  let rc = syncDevice(d)
  d.printProfile()
  for (k, p) in plans where p.dev == h { _ = k; plans[k] = nil }
  for (k, b) in buffers where b.dev == h { _ = freeBuffer(k); _ = b }
  for (k, kern) in kernels where kern.dev == h { _ = kern; kernels[k] = nil }
  for (k, m) in maps where m.dev == h { _ = m; _ = closeMap(k) }
  devices[h] = nil
  return rc
}
