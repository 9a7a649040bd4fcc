// Source.swift — finding metal/*.metal, resolving their quoted includes
// (inlined once, with #line so compile errors name the file), compiling each
// file at run time with makeLibrary(source:options:) (no Xcode needed), and
// caching one compute pipeline per kernel name.
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#endif
import Metal

func readTextFile(_ path: String) -> String? {
  guard let f = fopen(path, "rb") else { return nil }
  defer { fclose(f) }
  var bytes = [UInt8]()
  var chunk = [UInt8](repeating: 0, count: 1 << 16)
  while true {
    let n = fread(&chunk, 1, chunk.count, f)
    if n <= 0 { break }
    bytes.append(contentsOf: chunk[0..<n])
  }
  return String(decoding: bytes, as: UTF8.self)
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

func listDirectory(_ dir: String) -> [String]? {
  guard let d = opendir(dir) else { return nil }
  defer { closedir(d) }
  var names = [String]()
  while let e = readdir(d) {
    let name = withUnsafePointer(to: &e.pointee.d_name) { p in
      p.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: e.pointee.d_name)) {
        String(cString: $0)
      }
    }
    names.append(name)
  }
  return names
}

func parentDirectory(_ path: String) -> String {
  guard let slash = path.lastIndex(of: "/") else { return "." }
  return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// The directory of the Metal kernels: $FERRUM_METAL_DIR, else the `metal/`
/// of the ferrum checkout this library was built in (walking up from the
/// library: native-shim/metal/.build/<triple>/release/), else ./metal.
func metalSourceDirectory() -> String? {
  if let env = getenv("FERRUM_METAL_DIR") { return String(cString: env) }
  #if canImport(Darwin)
  var info = Dl_info()
  if dladdr(#dsohandle, &info) != 0, let fname = info.dli_fname {
    var dir = String(cString: fname)
    if let real = realpath(fname, nil) {
      dir = String(cString: real)
      free(real)
    }
    for _ in 0..<8 {
      dir = parentDirectory(dir)
      if fileExists(dir + "/metal/ferrum_metal.h") { return dir + "/metal" }
      if dir == "/" { break }
    }
  }
  #endif
  return fileExists("metal/ferrum_metal.h") ? "metal" : nil
}

/// One MSL source per .metal file of `dir` (sorted), with `#include "x"`
/// inlined once each and #line kept, so a compile error names its file. Files
/// are compiled separately, as the emulator does: helpers of two files may
/// share a name.
func metalSources(_ dir: String) -> [(file: String, source: String)]? {
  guard let names = listDirectory(dir) else { return nil }
  var result = [(file: String, source: String)]()
  for file in names.filter({ $0.hasSuffix(".metal") }).sorted() {
    var included = Set<String>()
    var out = ""
    func append(_ name: String) -> Bool {
      guard let text = readTextFile(dir + "/" + name) else { return false }
      out += "#line 1 \"\(name)\"\n"
      var lineNo = 0
      for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        lineNo += 1
        let t = line.drop { $0 == " " || $0 == "\t" }
        if t.hasPrefix("#include \"") {
          let rest = t.dropFirst("#include \"".count)
          if let q = rest.firstIndex(of: "\"") {
            let inc = String(rest[..<q])
            if !included.contains(inc) {
              included.insert(inc)
              if !append(inc) { return false }
            }
            out += "#line \(lineNo + 1) \"\(name)\"\n"
            continue
          }
        }
        out += line
        out += "\n"
      }
      return true
    }
    if !append(file) { return nil }
    result.append((file, out))
  }
  return result
}

/// Compile the kernels once per device (first fr_kernel call): one library
/// per .metal file.
func ensureLibrary(_ d: Device) -> Int32 {
  if !d.libraries.isEmpty { return FR_OK }
  guard let dir = metalSourceDirectory() else {
    return fail(FR_E_IO, "cannot find the Metal kernels (metal/ferrum_metal.h); set FERRUM_METAL_DIR to ferrum's metal/ directory")
  }
  guard let sources = metalSources(dir), !sources.isEmpty else {
    return fail(FR_E_IO, "cannot read the .metal files of \(dir)")
  }
  var libraries = [any MTLLibrary]()
  for (file, source) in sources {
    do {
      let options = MTLCompileOptions()
      libraries.append(try d.mtl.makeLibrary(source: source, options: options))
    } catch {
      return fail(FR_E_DEVICE, "compiling \(dir)/\(file) failed: \(error)")
    }
  }
  d.libraries = libraries
  return FR_OK
}

/// fr_kernel: a Metal function name (e.g. kernel_mul_mv_q4_K_f32) -> handle.
func kernelHandle(_ devHandle: Int32, _ d: Device, _ name: String) -> Int32 {
  if let h = d.kernelByName[name] { return h }
  let rc = ensureLibrary(d)
  if rc != FR_OK { return rc }
  guard let function = d.libraries.lazy.compactMap({ $0.makeFunction(name: name) }).first else {
    return fail(FR_E_UNSUPPORTED, "no kernel '\(name)' in the .metal sources")
  }
  let pipeline: any MTLComputePipelineState
  do {
    pipeline = try d.mtl.makeComputePipelineState(function: function)
  } catch {
    return fail(FR_E_DEVICE, "pipeline for \(name) failed: \(error)")
  }
  let h = newHandle()
  kernels[h] = Kernel(dev: devHandle, name: name, pipeline: pipeline)
  d.kernelByName[name] = h
  return h
}
