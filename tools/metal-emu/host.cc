/*
 * host.cc — the metal-emu executor: the ferrum_shim.h ABI (device, maps,
 * buffers and plans come from native-shim/cpu unchanged) whose kernels are
 * the real .metal sources in metal/, compiled as C++ against the stand-in
 * <metal_stdlib> (tools/metal-emu/metal_stdlib) and run threadgroup by
 * threadgroup as fibers with the op's own grid/threadgroup sizes.
 *
 * fr_kernel("kernel_x") finds `kernel void kernel_x(` in the .metal files of metal/,
 * generates a launcher from the signature's [[buffer(N)]] / thread
 * attributes, compiles the file with clang++ into build/metal-emu/cache/
 * <content hash>.so and dlopens it. Binding convention (shared with the Swift
 * shim): [[buffer(0)]] is the op's params struct, [[buffer(i+1)]] binding i.
 * Bounds: each op's CPU check() validates params against buffer sizes; then
 * every binding is staged right before a PROT_NONE guard page (and after
 * one), so a kernel reading or writing outside what its params describe
 * fails with the kernel, binding and byte offset named.
 * Traffic: with FERRUM_EMU_TRAFFIC=<path>, dispatches run a counting build
 * (metal_stdlib's FR_EMU_COUNT: ASan instrumentation as calls into byte
 * counters) and append one JSON line each to <path>: bytes read and written
 * per binding (scripts/metal-traffic.mjs).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "dispatch.h"
#include "kernel.h"
#include "quants.h"
}

namespace {

typedef int (*launch_fn)(const char *name, void *const *buffers, const uint32_t *grid, const uint32_t *tg, char *err,
                         unsigned errlen);

struct Kernel {
  std::string name;       // Metal function name
  fr_kernel_desc tmpl;    // the CPU op template: bindings, params size, check()
  launch_fn launch = nullptr;
  std::string file;                // the .metal file it comes from
  launch_fn launch_count = nullptr; // the traffic-counting build (FERRUM_EMU_TRAFFIC), compiled on first use
  void *traffic = nullptr;          // that build's emu_traffic_t
};

// what the counting build (metal_stdlib, FR_EMU_COUNT) exports
struct Traffic {
  unsigned n;
  unsigned long lo[9], hi[9];
  unsigned long long rd[9], wr[9];
};

// One desc per (kernel, grid, threadgroup): plan.c calls k->run(k, ...), so the
// dispatch size travels inside the interned desc.
struct EmuDesc {
  fr_kernel_desc d; // first member: &EmuDesc == &d
  int kid;
  uint32_t grid[3], tg[3];
};

std::vector<std::unique_ptr<Kernel>> g_kernels;
std::vector<std::unique_ptr<EmuDesc>> g_descs;
std::map<std::string, void *> g_libs; // source hash -> dlopen handle

std::string g_root;
const std::string &root() {
  if (g_root.empty()) {
    Dl_info info;
    if (dladdr((void *)&root, &info) && info.dli_fname) {
      std::string p = info.dli_fname; // <root>/build/metal-emu/libferrum_metalemu.so
      for (int i = 0; i < 3; i++) {
        size_t s = p.find_last_of('/');
        p = s == std::string::npos ? "." : p.substr(0, s);
      }
      g_root = p;
    } else {
      g_root = ".";
    }
  }
  return g_root;
}
std::string env_or(const char *name, const std::string &fallback) {
  const char *v = getenv(name);
  return v && *v ? v : fallback;
}
std::string metal_dir() { return env_or("FERRUM_METAL_DIR", root() + "/metal"); }
std::string emu_dir() { return env_or("FERRUM_EMU_INCLUDE", root() + "/tools/metal-emu"); }
std::string cache_dir() { return env_or("FERRUM_EMU_CACHE", root() + "/build/metal-emu/cache"); }
std::string cxx() { return env_or("FERRUM_EMU_CXX", "clang++"); }

bool read_file(const std::string &path, std::string &out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}
std::vector<std::string> list_dir(const std::string &dir, const char *ext) {
  std::vector<std::string> out;
  std::string cmd;
  DIR *d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent *e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > strlen(ext) && n.compare(n.size() - strlen(ext), strlen(ext), ext) == 0) out.push_back(dir + "/" + n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

uint64_t fnv(uint64_t h, const std::string &s) {
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// ---- the signature parser and launcher generator ---------------------------

struct Param {
  std::string type, name, attr, attr_arg;
};

std::string trim(const std::string &s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// finds `kernel void <name>(` and splits its parameter list
bool parse_signature(const std::string &src, const std::string &name, std::vector<Param> &out, std::string &err) {
  size_t pos = 0;
  for (;;) {
    pos = src.find(name, pos);
    if (pos == std::string::npos) return false;
    size_t end = pos + name.size();
    bool ident_end = end < src.size() && !(isalnum((unsigned char)src[end]) || src[end] == '_');
    size_t b = src.rfind("__emu_kernel", pos);
    bool is_kernel = ident_end && b != std::string::npos && trim(src.substr(b + 12, pos - b - 12)) == "void" &&
                     (b == 0 || !(isalnum((unsigned char)src[b - 1]) || src[b - 1] == '_'));
    size_t paren = src.find_first_not_of(" \t\r\n", end);
    if (is_kernel && paren != std::string::npos && src[paren] == '(') {
      int depth = 0;
      size_t i = paren, start = paren + 1;
      std::vector<std::string> parts;
      for (; i < src.size(); i++) {
        char c = src[i];
        if (c == '(' || c == '[' || c == '<') depth++;
        else if (c == ')' || c == ']' || c == '>') {
          if (--depth == 0 && c == ')') { parts.push_back(src.substr(start, i - start)); break; }
        } else if (c == ',' && depth == 1) {
          parts.push_back(src.substr(start, i - start));
          start = i + 1;
        }
      }
      for (const std::string &raw : parts) {
        std::string p = trim(raw);
        if (p.empty()) continue;
        Param q;
        size_t a = p.find("[[");
        if (a == std::string::npos) {
          err = name + ": parameter '" + p + "' has no [[attribute]]";
          return true;
        }
        std::string attr = trim(p.substr(a + 2, p.find("]]", a) - a - 2));
        std::string decl = trim(p.substr(0, a));
        size_t n = decl.size();
        while (n > 0 && (isalnum((unsigned char)decl[n - 1]) || decl[n - 1] == '_')) n--;
        q.name = decl.substr(n);
        q.type = trim(decl.substr(0, n));
        size_t lp = attr.find('(');
        if (lp != std::string::npos) {
          q.attr_arg = trim(attr.substr(lp + 1, attr.find(')') - lp - 1));
          attr = trim(attr.substr(0, lp));
        }
        q.attr = attr;
        out.push_back(q);
      }
      return true;
    }
    pos = end;
  }
}

const std::map<std::string, std::string> k_attrs = {
    {"thread_position_in_grid", "A_tpig"},          {"threadgroup_position_in_grid", "A_tgpig"},
    {"thread_position_in_threadgroup", "A_tpitg"},  {"thread_index_in_threadgroup", "A_tiitg"},
    {"thread_index_in_simdgroup", "A_tiisg"},       {"simdgroup_index_in_threadgroup", "A_sgitg"},
    {"threads_per_threadgroup", "A_ntg"},           {"threadgroups_per_grid", "A_tgpg"},
    {"threads_per_simdgroup", "A_tpsg"},            {"simdgroups_per_threadgroup", "A_sgptg"},
    {"threads_per_grid", "A_tpg"},
};

// every `kernel void name(` in a source
std::vector<std::string> kernel_names(const std::string &src) {
  std::vector<std::string> out;
  size_t pos = 0;
  const std::string mark = "__emu_kernel";
  while ((pos = src.find(mark, pos)) != std::string::npos) {
    bool start = pos == 0 || !(isalnum((unsigned char)src[pos - 1]) || src[pos - 1] == '_');
    size_t after = pos + mark.size();
    pos = after;
    if (!start || after >= src.size() || !isspace((unsigned char)src[after])) continue;
    size_t v = src.find_first_not_of(" \t\r\n", after);
    if (v == std::string::npos || src.compare(v, 4, "void") != 0 || !isspace((unsigned char)src[v + 4])) continue;
    size_t n0 = src.find_first_not_of(" \t\r\n", v + 4), n1 = n0;
    while (n1 < src.size() && (isalnum((unsigned char)src[n1]) || src[n1] == '_')) n1++;
    if (n1 > n0) out.push_back(src.substr(n0, n1 - n0));
  }
  return out;
}

// `threadgroup T x[N];` declarations become storage shared by every fiber of
// the threadgroup (one OS thread runs a whole threadgroup); the qualifier
// anywhere else (pointer types) means nothing here.
std::string rewrite_threadgroup(const std::string &src) {
  const std::string mark = "__emu_threadgroup";
  std::string out;
  size_t pos = 0, at;
  while ((at = src.find(mark, pos)) != std::string::npos) {
    out += src.substr(pos, at - pos);
    size_t e = src.find_first_of(";,()", at);
    std::string seg = src.substr(at, e == std::string::npos ? 0 : e - at);
    // a declaration: `threadgroup T name[N];` — no pointer or reference before the array bounds
    bool decl = e != std::string::npos && src[e] == ';' && seg.substr(0, seg.find('[')).find_first_of("*&") == std::string::npos;
    out += decl ? "static thread_local" : "";
    pos = at + mark.size();
  }
  out += src.substr(pos);
  std::string res;
  // the kernel marker itself expands to nothing
  pos = 0;
  while ((at = out.find("__emu_kernel", pos)) != std::string::npos) {
    res += out.substr(pos, at - pos);
    pos = at + 12;
  }
  return res + out.substr(pos);
}

bool generate(const std::string &path, const std::string &src, std::string &gen, std::string &err) {
  std::stringstream g;
  g << "// generated from " << path << " by tools/metal-emu/host.cc\n#include <metal_stdlib>\n"
    << rewrite_threadgroup(src) << "\n// ---- generated launchers\n";
  std::vector<std::string> names = kernel_names(src);
  for (const std::string &k : names) {
    std::vector<Param> ps;
    if (!parse_signature(src, k, ps, err) || !err.empty()) {
      if (err.empty()) err = k + ": cannot parse its signature";
      return false;
    }
    g << "static void emu_entry_" << k << "(const emu::Launch &L) {\n  (void)L;\n  " << k << "(";
    for (size_t i = 0; i < ps.size(); i++) {
      const Param &p = ps[i];
      if (i) g << ", ";
      if (p.attr == "buffer") {
        int idx = atoi(p.attr_arg.c_str());
        if (idx < 0 || idx > 8) { err = k + ": [[buffer(" + p.attr_arg + ")]] is outside 0..8"; return false; }
        if (!p.type.empty() && p.type.back() == '&')
          g << "*(std::remove_reference_t<" << p.type << "> *)L.buffers[" << idx << "]";
        else
          g << "(" << p.type << ")L.buffers[" << idx << "]";
      } else {
        auto a = k_attrs.find(p.attr);
        if (a == k_attrs.end()) {
          err = k + ": parameter " + p.name + " has [[" + p.attr + "]], which the emulator does not provide" +
                (p.attr == "threadgroup" ? " (declare threadgroup arrays inside the kernel instead)" : "");
          return false;
        }
        g << "emu::get_attr<" << p.type << ">(emu::" << a->second << ")";
      }
    }
    g << ");\n}\n";
  }
  g << "extern \"C\" __attribute__((visibility(\"default\"))) const char emu_kernel_list[] = \"";
  for (const std::string &k : names) g << k << "\\n";
  g << "\";\n";
  g << "extern \"C\" __attribute__((visibility(\"default\"))) int emu_launch(const char *name, void *const *buffers, "
       "const uint32_t *grid, const uint32_t *tg, char *err, unsigned errlen) {\n"
       "  emu::Launch L{};\n  L.name = name;\n";
  for (const std::string &k : names) g << "  if (!std::strcmp(name, \"" << k << "\")) L.entry = emu_entry_" << k << ";\n";
  g << "  if (!L.entry) { std::snprintf(err, errlen, \"no kernel %s in this library\", name); return -1; }\n"
       "  for (int i = 0; i < 9; i++) L.buffers[i] = buffers[i];\n"
       "  for (int i = 0; i < 3; i++) { L.grid[i] = grid[i]; L.tg[i] = tg[i]; }\n"
       "  return emu::run_grid(L, err, errlen);\n}\n";
  gen = g.str();
  return true;
}

int32_t compile_source(const std::string &path, void **lib, bool count = false) {
  std::string src, stdlib_src;
  if (!read_file(path, src)) return fr_fail(FR_E_IO, "metal-emu: cannot read %s", path.c_str());
  if (!read_file(emu_dir() + "/metal_stdlib", stdlib_src))
    return fr_fail(FR_E_IO, "metal-emu: cannot read %s/metal_stdlib", emu_dir().c_str());
  std::string flags = "-x c++ -std=c++17 -O2 -fPIC -mf16c -mfma -Wno-unknown-attributes -w";
  // the counting build: ASan's instrumentation as calls into metal_stdlib's counters. No ASan runtime:
  // compiling and linking are separate commands because the driver links libclang_rt.asan_static
  // (libclang-rt-*-dev, often not installed) whenever -fsanitize=address reaches the link.
  if (count)
    flags += " -DFR_EMU_COUNT -fsanitize=address -fsanitize-address-use-after-return=never -fno-sanitize-address-use-after-scope"
             " -mllvm -asan-instrumentation-with-call-threshold=0 -mllvm -asan-stack=0 -mllvm -asan-globals=0";
  uint64_t h = fnv(0xcbf29ce484222325ull, src);
  h = fnv(h, stdlib_src);
  h = fnv(h, flags + cxx() + "gen-v3");
  std::vector<std::string> hdrs = list_dir(metal_dir(), ".h");
  for (const std::string &x : list_dir(root() + "/metal", ".h")) hdrs.push_back(x);
  for (const std::string &hdr : hdrs) {
    std::string s;
    read_file(hdr, s);
    h = fnv(fnv(h, hdr.substr(hdr.find_last_of('/'))), s);
  }
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
  auto hit = g_libs.find(hex);
  if (hit != g_libs.end()) {
    *lib = hit->second;
    return FR_OK;
  }
  std::string base = path.substr(path.find_last_of('/') + 1);
  base = base.substr(0, base.find('.'));
  if (count) base += "_count";
  std::string dir = cache_dir();
  std::string so = dir + "/" + base + "-" + hex + ".so";
  struct stat st;
  if (stat(so.c_str(), &st) != 0) {
    std::string mk = "mkdir -p '" + dir + "'";
    if (system(mk.c_str()) != 0) return fr_fail(FR_E_IO, "metal-emu: cannot create %s", dir.c_str());
    std::string tmp = so + "." + std::to_string(getpid());
    std::string cc = tmp + ".cc", pre = tmp + ".i", log = tmp + ".log";
    // the kernel's own directory first, then the product's shared headers (ferrum_params.h)
    const std::string inc = " -I '" + emu_dir() + "' -I '" + metal_dir() + "' -I '" + root() + "/metal' ";
    std::string scan = cxx() + " -x c++ -std=c++17 -E -P -DFR_EMU_SCAN" + inc + "'" + path + "' -o '" + pre + "' >'" + log + "' 2>&1";
    int src_rc = system(scan.c_str());
    std::string pre_src, gen, err;
    if (src_rc != 0 || !read_file(pre, pre_src)) {
      read_file(log, err);
      unlink(pre.c_str());
      unlink(log.c_str());
      if (src_rc == -1 || WEXITSTATUS(src_rc) == 127)
        return fr_fail(FR_E_DEVICE, "metal-emu: cannot run %s (install clang: apt-get install clang)", cxx().c_str());
      return fr_fail(FR_E_DEVICE, "metal-emu: %s does not preprocess: %.380s", path.c_str(), err.c_str());
    }
    unlink(pre.c_str());
    if (!generate(path, pre_src, gen, err)) return fr_fail(FR_E_DEVICE, "metal-emu: %s: %s", path.c_str(), err.c_str());
    {
      std::ofstream f(cc, std::ios::binary);
      f << gen;
      if (!f) return fr_fail(FR_E_IO, "metal-emu: cannot write %s", cc.c_str());
    }
    std::string obj = tmp + ".o";
    std::string cmd = cxx() + " -c " + flags + inc + "'" + cc + "' -o '" + obj + "' >'" + log + "' 2>&1 && " +
                      cxx() + " -shared '" + obj + "' -o '" + tmp + "' >>'" + log + "' 2>&1";
    int rc = system(cmd.c_str());
    unlink(obj.c_str());
    std::string out;
    read_file(log, out);
    unlink(log.c_str());
    if (rc != 0) {
      unlink(tmp.c_str());
      if (rc == -1 || WEXITSTATUS(rc) == 127)
        return fr_fail(FR_E_DEVICE, "metal-emu: cannot run %s (install clang: apt-get install clang)", cxx().c_str());
      return fr_fail(FR_E_DEVICE, "metal-emu: %s does not compile: %.380s", path.c_str(), out.c_str());
    }
    unlink(cc.c_str());
    if (rename(tmp.c_str(), so.c_str()) != 0) return fr_fail(FR_E_IO, "metal-emu: cannot write %s", so.c_str());
    // older builds of this file are stale now (unlinking one a process has open is safe)
    for (const std::string &old : list_dir(dir, ".so")) {
      std::string name = old.substr(old.find_last_of('/') + 1);
      if (old != so && name.size() == base.size() + 20 && name.compare(0, base.size() + 1, base + "-") == 0)
        unlink(old.c_str());
    }
  }
  void *h2 = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h2) return fr_fail(FR_E_DEVICE, "metal-emu: dlopen %s: %s", so.c_str(), dlerror());
  g_libs[hex] = h2;
  *lib = h2;
  return FR_OK;
}

struct TypeName {
  const char *name;
  int32_t type;
};
const TypeName k_types[] = {
    {"f32", FR_TYPE_F32},   {"f16", FR_TYPE_F16},       {"bf16", FR_TYPE_BF16},    {"q4_0", FR_TYPE_Q4_0},
    {"q4_1", FR_TYPE_Q4_1}, {"q5_0", FR_TYPE_Q5_0},     {"q5_1", FR_TYPE_Q5_1},    {"q8_0", FR_TYPE_Q8_0},
    {"q2_K", FR_TYPE_Q2_K}, {"q3_K", FR_TYPE_Q3_K},     {"q4_K", FR_TYPE_Q4_K},    {"q5_K", FR_TYPE_Q5_K},
    {"q6_K", FR_TYPE_Q6_K}, {"iq4_nl", FR_TYPE_IQ4_NL}, {"iq4_xs", FR_TYPE_IQ4_XS},
};
int32_t type_of(const std::string &s) {
  for (const TypeName &t : k_types)
    if (s == t.name) return t.type;
  return -1;
}

// Metal kernel name -> the CPU op whose params/bindings/check() it shares
// A `__variant` suffix (kernel_add_f32__shuffle) keeps the op's contract:
// variants of one op (and the emulator's self-tests) share its params and check().
bool op_of(const std::string &full, fr_kernel_desc &out) {
  const std::string n = full.substr(0, full.find("__"));
  auto starts = [&](const char *p) { return n.rfind(p, 0) == 0; };
  const fr_kernel_desc *t = nullptr;
  int32_t type = -1;
  if (n == "kernel_rms_norm_f32") t = &fr_op_rms_norm_f32;
  else if (n == "kernel_add_f32") t = &fr_op_add_f32;
  else if (n == "kernel_mul_f32") t = &fr_op_mul_f32;
  else if (n == "kernel_rope_f32") t = &fr_op_rope_f32;
  else if (n == "kernel_soft_max_f32") t = &fr_op_soft_max_f32;
  else if (n == "kernel_swiglu_f32") t = &fr_op_swiglu_f32;
  else if (n == "kernel_moe_route_f32") t = &fr_op_moe_route_f32;
  else if (n == "kernel_moe_sum_f32") t = &fr_op_moe_sum_f32;
  else if (starts("kernel_mul_mv_id_") && n.size() > 21 && n.compare(n.size() - 4, 4, "_f32") == 0)
    t = &fr_op_mul_mat_id, type = type_of(n.substr(17, n.size() - 21));
  else if (starts("kernel_cpy_f32_")) t = &fr_op_kv_store, type = type_of(n.substr(15));
  else if (starts("kernel_attn_")) t = &fr_op_attn, type = type_of(n.substr(12));
  else if (starts("kernel_get_rows_")) t = &fr_op_get_rows, type = type_of(n.substr(16));
  else if ((starts("kernel_mul_mv_") || starts("kernel_mul_mm_")) && n.size() > 18 && n.compare(n.size() - 4, 4, "_f32") == 0)
    t = &fr_op_mul_mat, type = type_of(n.substr(14, n.size() - 18));
  if (!t) return false;
  if (type < 0 && (t == &fr_op_kv_store || t == &fr_op_attn || t == &fr_op_get_rows || t == &fr_op_mul_mat ||
                   t == &fr_op_mul_mat_id)) return false;
  out = *t;
  snprintf(out.name, sizeof out.name, "%s", full.c_str());
  out.type = type;
  return true;
}

// ---- bounds: the extents check() asks for, and guard-paged staging ---------

thread_local bool g_capture;
thread_local uint64_t g_need[FR_MAX_BINDINGS];

struct Stage {
  uint8_t *map = nullptr; // guard | data pages | guard
  size_t map_bytes = 0;
  uint8_t *data = nullptr, *lo = nullptr, *hi = nullptr; // data; accessible [lo, hi)
};

thread_local Stage *g_stages; // 9 entries while a kernel runs
thread_local const char *g_running;
thread_local sigjmp_buf g_fault_jb;
thread_local char g_fault_msg[256];
struct sigaction g_old_segv, g_old_bus;

void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (g_stages && g_running) {
    uint8_t *a = (uint8_t *)si->si_addr;
    for (int i = 0; i < 9; i++) {
      Stage &s = g_stages[i];
      if (!s.map || a < s.map || a >= s.map + s.map_bytes) continue;
      long long off = (long long)(a - s.data);
      if (i == 0)
        snprintf(g_fault_msg, sizeof g_fault_msg, "%s: out-of-bounds access to the params ([[buffer(0)]]) at byte %lld of %lld",
                 g_running, off, (long long)(s.hi - s.data));
      else
        snprintf(g_fault_msg, sizeof g_fault_msg,
                 "%s: out-of-bounds access to binding %d ([[buffer(%d)]]) at byte %lld; its params allow %lld bytes",
                 g_running, i - 1, i, off, (long long)(s.hi - s.data));
      siglongjmp(g_fault_jb, 1);
    }
  }
  if (g_running) { // a wild access outside every staged binding
    snprintf(g_fault_msg, sizeof g_fault_msg, "%s: invalid memory access at %p (outside every binding)", g_running,
             si->si_addr);
    siglongjmp(g_fault_jb, 1);
  }
  struct sigaction *old = sig == SIGSEGV ? &g_old_segv : &g_old_bus;
  sigaction(sig, old, nullptr); // not ours: re-raise with the previous handler
}

bool stage(Stage &s, const uint8_t *src, uint64_t bytes) {
  const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  size_t span = ((bytes + 15) & ~(uint64_t)15);
  size_t data_pages = (span + pg - 1) / pg;
  if (data_pages == 0) data_pages = 1;
  const size_t guard = 16 * pg; // PROT_NONE on both sides: 64 KiB of address space, no memory
  s.map_bytes = data_pages * pg + 2 * guard;
  s.map = (uint8_t *)mmap(nullptr, s.map_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (s.map == MAP_FAILED) { s.map = nullptr; return false; }
  if (mprotect(s.map + guard, data_pages * pg, PROT_READ | PROT_WRITE) != 0) return false;
  s.hi = s.map + guard + data_pages * pg;
  s.data = s.hi - span;
  s.lo = s.data;
  memcpy(s.data, src, bytes);
  s.hi = s.data + bytes;
  return true;
}

int32_t emu_run(const fr_kernel_desc *k, fr_device *dev, const void *params, const fr_view *v) {
  (void)dev;
  const EmuDesc *e = (const EmuDesc *)k;
  const Kernel &kern = *g_kernels[e->kid];
  if (e->grid[0] * e->grid[1] * e->grid[2] == 0) return FR_OK; // nothing to run (e.g. zero tokens)
  // FERRUM_EMU_TRAFFIC=<path>: run the counting build and append one JSON line per dispatch to <path>
  const char *traffic_path = getenv("FERRUM_EMU_TRAFFIC");
  const bool count = traffic_path && *traffic_path;
  Kernel &kc = *g_kernels[e->kid];
  if (count && !kc.launch_count) {
    void *lib = nullptr;
    int32_t rc = compile_source(kc.file, &lib, true);
    if (rc != FR_OK) return rc;
    kc.launch_count = (launch_fn)dlsym(lib, "emu_launch");
    kc.traffic = dlsym(lib, "emu_traffic");
    if (!kc.launch_count || !kc.traffic) return fr_fail(FR_E_DEVICE, "metal-emu: the counting build of %s has no emu_traffic", kc.file.c_str());
  }
  const bool guard = count || env_or("FERRUM_EMU_GUARD", "1") != "0"; // counting needs the staged extents
  void *bufs[9] = {(void *)params};
  Stage st[9];
  memset(g_need, 0, sizeof g_need);
  if (guard) {
    g_capture = true;
    int32_t rc = k->check(k, params, v);
    g_capture = false;
    if (rc != FR_OK) return rc;
    bool ok = stage(st[0], (const uint8_t *)params, k->params_size);
    for (uint32_t i = 0; ok && i < k->n_bindings; i++) ok = stage(st[i + 1], v[i].ptr, g_need[i]);
    if (!ok) {
      for (Stage &s : st) if (s.map) munmap(s.map, s.map_bytes);
      return fr_fail(FR_E_NOMEM, "%s: cannot stage buffers", k->name);
    }
    for (uint32_t i = 0; i <= k->n_bindings; i++) bufs[i] = st[i].data;
  } else {
    for (uint32_t i = 0; i < k->n_bindings; i++) bufs[i + 1] = v[i].ptr;
  }
  char err[400] = "";
  int rc = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, &g_old_segv);
  sigaction(SIGBUS, &sa, &g_old_bus);
  g_stages = guard ? st : nullptr;
  g_running = k->name;
  if (sigsetjmp(g_fault_jb, 1) == 0) {
    if (count) {
      Traffic &t = *(Traffic *)kc.traffic;
      memset(&t, 0, sizeof t);
      t.n = k->n_bindings + 1;
      for (uint32_t i = 0; i < t.n; i++) t.lo[i] = (unsigned long)st[i].data, t.hi[i] = (unsigned long)st[i].hi;
      rc = kc.launch_count(kern.name.c_str(), bufs, e->grid, e->tg, err, sizeof err);
    } else {
      rc = kern.launch(kern.name.c_str(), bufs, e->grid, e->tg, err, sizeof err);
    }
  } else {
    rc = -2;
  }
  g_running = nullptr;
  g_stages = nullptr;
  sigaction(SIGSEGV, &g_old_segv, nullptr);
  sigaction(SIGBUS, &g_old_bus, nullptr);
  if (count && rc == 0) {
    const Traffic &t = *(const Traffic *)kc.traffic;
    if (FILE *f = fopen(traffic_path, "a")) {
      fprintf(f, "{\"kernel\":\"%s\",\"grid\":[%u,%u,%u],\"threadgroup\":[%u,%u,%u],", kern.name.c_str(),
              e->grid[0], e->grid[1], e->grid[2], e->tg[0], e->tg[1], e->tg[2]);
      for (uint32_t i = 0; i < k->params_size / 4; i++) // the params struct, as 32-bit words (ferrum_params.h)
        fprintf(f, "%s%u", i ? "," : "\"params\":[", ((const uint32_t *)params)[i]);
      fprintf(f, "%s\"bindings\":[", k->params_size >= 4 ? "]," : "");
      for (uint32_t i = 0; i < k->n_bindings; i++)
        fprintf(f, "%s{\"name\":\"%s\",\"bytes\":%llu,\"read\":%llu,\"written\":%llu}", i ? "," : "", k->binding_names[i],
                (unsigned long long)g_need[i], t.rd[i + 1], t.wr[i + 1]);
      fprintf(f, "]}\n");
      fclose(f);
    }
  }
  if (guard) {
    for (uint32_t i = 0; rc == 0 && i < k->n_bindings; i++)
      if (k->writes >> i & 1) memcpy(v[i].ptr, st[i + 1].data, g_need[i]);
    for (Stage &s : st) if (s.map) munmap(s.map, s.map_bytes);
  }
  if (rc == -2) return fr_fail(FR_E_DEVICE, "%s", g_fault_msg);
  if (rc != 0) return fr_fail(FR_E_DEVICE, "%s", err);
  return FR_OK;
}

int32_t lookup(const std::string &name) {
  for (size_t i = 0; i < g_kernels.size(); i++)
    if (g_kernels[i]->name == name) return (int32_t)i + 1;
  fr_kernel_desc tmpl;
  if (!op_of(name, tmpl))
    return fr_fail(FR_E_UNSUPPORTED, "metal-emu: '%.100s' is not a known Metal kernel name", name.c_str());
  // every .metal file is compiled (once, then cached by content hash) and
  // asked for its kernel list: kernels may come from macros
  void *lib = nullptr;
  std::string file;
  for (const std::string &p : list_dir(metal_dir(), ".metal")) {
    void *l;
    int32_t rc = compile_source(p, &l);
    if (rc != FR_OK) return rc;
    const char *list = (const char *)dlsym(l, "emu_kernel_list");
    std::string want = "\n" + name + "\n";
    if (list && ("\n" + std::string(list)).find(want) != std::string::npos) { lib = l; file = p; break; }
  }
  if (!lib)
    return fr_fail(FR_E_UNSUPPORTED, "metal-emu: no kernel %.100s in the .metal files of %s", name.c_str(), metal_dir().c_str());
  auto k = std::make_unique<Kernel>();
  k->name = name;
  k->tmpl = tmpl;
  k->launch = (launch_fn)dlsym(lib, "emu_launch");
  k->file = file;
  if (!k->launch) return fr_fail(FR_E_DEVICE, "metal-emu: %s has no emu_launch", file.c_str());
  g_kernels.push_back(std::move(k));
  return (int32_t)g_kernels.size();
}

} // namespace

extern "C" {

int32_t __real_fr_need(const fr_kernel_desc *k, const fr_view *v, uint32_t i, uint64_t bytes, uint32_t align);
int32_t __wrap_fr_need(const fr_kernel_desc *k, const fr_view *v, uint32_t i, uint64_t bytes, uint32_t align) {
  if (g_capture && i < FR_MAX_BINDINGS && bytes != UINT64_MAX) g_need[i] = std::max(g_need[i], bytes);
  return __real_fr_need(k, v, i, bytes, align);
}

const fr_kernel_desc *fr_kernel_by_id(int32_t id) {
  if (id < 1 || id > (int32_t)g_kernels.size()) return nullptr;
  return &g_kernels[id - 1]->tmpl;
}

FR_EXPORT int32_t fr_kernel(int32_t dev, const char *name) {
  fr_api_lock();
  fr_device *d = fr_device_get(dev);
  int32_t rc = !d ? FR_E_INVALID : !name ? fr_fail(FR_E_INVALID, "fr_kernel: name is NULL") : lookup(name);
  fr_api_unlock();
  return rc;
}

int32_t fr_bind_op(fr_device *dev, const fr_op *rec, fr_bound_op *out) {
  memset(out, 0, sizeof *out);
  if (rec->kernel < 1 || rec->kernel > (int32_t)g_kernels.size())
    return fr_fail(FR_E_INVALID, "unknown kernel id %d", rec->kernel);
  const Kernel &kern = *g_kernels[rec->kernel - 1];
  const fr_kernel_desc *t = &kern.tmpl;
  if (rec->n_bindings != t->n_bindings)
    return fr_fail(FR_E_INVALID, "%s takes %u bindings, the op has %u", t->name, t->n_bindings, rec->n_bindings);
  if (rec->params_size != t->params_size)
    return fr_fail(FR_E_INVALID, "%s takes %u bytes of params, the op has %u", t->name, t->params_size, rec->params_size);
  const uint32_t *g = rec->grid, *tg = rec->threadgroup;
  uint64_t threads = (uint64_t)tg[0] * tg[1] * tg[2];
  if (threads == 0 || threads > 1024)
    return fr_fail(FR_E_INVALID, "%s: threadgroup %ux%ux%u must have 1..1024 threads (the executor needs Metal geometry)",
                   t->name, tg[0], tg[1], tg[2]);
  EmuDesc *e = nullptr;
  for (auto &d : g_descs)
    if (d->kid == rec->kernel - 1 && !memcmp(d->grid, g, 12) && !memcmp(d->tg, tg, 12)) { e = d.get(); break; }
  if (!e) {
    auto d = std::make_unique<EmuDesc>();
    d->d = *t;
    d->d.run = emu_run;
    d->kid = rec->kernel - 1;
    memcpy(d->grid, g, 12);
    memcpy(d->tg, tg, 12);
    e = d.get();
    g_descs.push_back(std::move(d));
  }
  out->k = &e->d;
  for (uint32_t i = 0; i < t->n_bindings; i++) {
    const fr_binding *b = &rec->bindings[i];
    fr_buffer *buf = fr_buffer_get(b->buffer);
    if (!buf) return fr_fail_context(FR_E_INVALID, "%s: binding %u (%s): ", t->name, i, t->binding_names[i]);
    if (buf->dev != dev)
      return fr_fail(FR_E_INVALID, "%s: binding %u: buffer %d belongs to another device", t->name, i, b->buffer);
    if (b->offset > (uint64_t)buf->size)
      return fr_fail(FR_E_INVALID, "%s: binding %u: offset %llu is past the end of buffer %d", t->name, i,
                     (unsigned long long)b->offset, b->buffer);
    out->bufs[i] = buf;
    out->views[i] = fr_view{buf->data + b->offset, (uint64_t)buf->size - b->offset, buf->map == nullptr};
  }
  return FR_OK;
}

int32_t fr_exec_op(fr_device *dev, const fr_bound_op *op) {
  int32_t rc = op->k->check(op->k, op->params, op->views);
  if (rc != FR_OK) return rc;
  return op->k->run(op->k, dev, op->params, op->views);
}

FR_EXPORT int32_t fr_dispatch(int32_t dev, const uint8_t *op, const uint8_t *params, int32_t params_size, int32_t sync) {
  (void)sync;
  if (!op) return fr_fail(FR_E_INVALID, "fr_dispatch: op is NULL");
  if (params_size < 0 || params_size > 256 || (params_size > 0 && !params))
    return fr_fail(FR_E_INVALID, "fr_dispatch: bad params (%d bytes)", params_size);
  fr_op rec;
  memcpy(&rec, op, sizeof rec);
  uint32_t aligned[64];
  if (params_size) memcpy(aligned, params, (size_t)params_size);
  if (rec.params_size != (uint32_t)params_size)
    return fr_fail(FR_E_INVALID, "fr_dispatch: op says %u bytes of params, %d given", rec.params_size, params_size);
  fr_api_lock();
  int32_t rc = FR_E_INVALID;
  fr_device *d = fr_device_get(dev);
  fr_bound_op b;
  if (d && (rc = fr_bind_op(d, &rec, &b)) == FR_OK) {
    b.params = aligned;
    rc = fr_exec_op(d, &b);
  }
  fr_api_unlock();
  return rc;
}

// Replaces device.c's (linked with --allow-multiple-definition, host.o first),
// so `ferrum` and the tests say which executor runs.
FR_EXPORT const char *fr_device_name(int32_t dev) {
  fr_api_lock();
  fr_device *d = fr_device_get(dev);
  fr_api_unlock();
  return d ? "metal-emu (metal/*.metal run by the MSL emulator on the CPU)" : ""; /* never NULL, as device.c */
}

FR_EXPORT int32_t fr_sync(int32_t dev) {
  fr_api_lock();
  fr_device *d = fr_device_get(dev);
  fr_api_unlock();
  return d ? FR_OK : FR_E_INVALID;
}

} // extern "C"
