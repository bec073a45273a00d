// bench_read_h5ad.cpp — issue "single-cell data path": reads a CSR .h5ad's X through the h5ad stage
// plugin (dlopen + uce_plugin_entry, as the engine loads it) in row chunks, and reports MB/s of
// the file, CPU seconds and the process's peak RSS (getrusage ru_maxrss). Run it on two files of
// different cell counts to see that the peak does not grow with the number of cells.
//
// Each chunk's values and indices are summed so the data is really touched (and printed as a
// checksum, which bench/make_bench_h5ad.py also prints for the same file).
//
// --pause-ms P sleeps P ms after each chunk, standing in for the caller's work on it (the engine
// builds sentences and runs the model between reads); the wall time then reported excludes the
// pauses, so it shows how much of the reading the reader's prefetch of the next chunk hid.
//
// usage: uce_bench_read_h5ad FILE.h5ad [--rows-per-chunk R] [--plugin PATH] [--pause-ms P]
#include <dlfcn.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "bench_stats.hpp"
#include "uce/uce_stage.h"

#ifndef UCE_H5AD_PLUGIN
#define UCE_H5AD_PLUGIN ""
#endif

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE.h5ad [--rows-per-chunk R] [--plugin PATH] [--pause-ms P]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  int64_t rows_per_chunk = 4096;
  std::string plugin = UCE_H5AD_PLUGIN;
  int pause_ms = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--rows-per-chunk") == 0) rows_per_chunk = std::atoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--pause-ms") == 0) pause_ms = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--plugin") == 0) plugin = argv[i + 1];
  }

  void* handle = dlopen(plugin.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    std::fprintf(stderr, "dlopen %s: %s\n", plugin.c_str(), dlerror());
    return 1;
  }
  auto entry = reinterpret_cast<uce_plugin_entry_fn>(dlsym(handle, UCE_PLUGIN_ENTRY_SYMBOL));
  const uce_plugin_header* header = entry ? entry() : nullptr;
  if (!header || header->kind != UCE_PLUGIN_STAGE) {
    std::fprintf(stderr, "%s: not a stage plugin\n", plugin.c_str());
    return 1;
  }
  const auto* iface = static_cast<const uce_stage_iface*>(header->iface);

  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const double c0 = uce::bench::process_cpu_seconds(), w0 = uce::bench::now_seconds();

  uce_reader_options opt{};
  opt.struct_size = sizeof opt;
  opt.path = path.c_str();
  opt.counts = "X";
  uce_reader* reader = nullptr;
  uce_error err{};
  if (iface->reader_open(&opt, &reader, &err) != UCE_OK) {
    std::fprintf(stderr, "reader_open: %s\n", err.message);
    return 1;
  }
  uce_reader_info info{};
  info.struct_size = sizeof info;
  iface->reader_info(reader, &info);
  const double w_open = uce::bench::now_seconds() - w0;
  const std::string layout = info.layout ? info.layout : "?";  // owned by the reader until close

  double value_sum = 0;
  int64_t index_sum = 0, nnz = 0;
  double paused = 0, in_read = 0;  // wall seconds sleeping / inside reader_read_rows
  for (int64_t b = 0; b < info.n_obs; b += rows_per_chunk) {
    const int64_t e = b + rows_per_chunk < info.n_obs ? b + rows_per_chunk : info.n_obs;
    uce_csr_chunk chunk{};
    chunk.struct_size = sizeof chunk;
    const double r0 = uce::bench::now_seconds();
    const uce_status read_status = iface->reader_read_rows(reader, b, e, &chunk, &err);
    in_read += uce::bench::now_seconds() - r0;
    if (read_status != UCE_OK) {
      std::fprintf(stderr, "reader_read_rows [%lld, %lld): %s\n", static_cast<long long>(b),
                   static_cast<long long>(e), err.message);
      return 1;
    }
    const int64_t n = chunk.indptr[chunk.n_rows];
    for (int64_t i = 0; i < n; ++i) {
      value_sum += chunk.values[i];
      index_sum += chunk.indices[i];
    }
    nnz += n;
    if (pause_ms > 0) {
      const double p0 = uce::bench::now_seconds();
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
      paused += uce::bench::now_seconds() - p0;
    }
  }
  iface->reader_close(reader);
  const double wall = uce::bench::now_seconds() - w0 - paused;
  const double cpu = uce::bench::process_cpu_seconds() - c0;
  rusage after{};
  getrusage(RUSAGE_SELF, &after);

  struct stat st{};
  stat(path.c_str(), &st);
  const double mb = static_cast<double>(st.st_size) / 1e6;
  std::printf("file %s: %.1f MB, %lld cells x %lld genes, %lld stored values; layout: %s\n", path.c_str(), mb,
              static_cast<long long>(info.n_obs), static_cast<long long>(info.n_var), static_cast<long long>(nnz),
              layout.c_str());
  std::printf("read in chunks of %lld rows: wall %.3f s (open %.3f s), cpu %.3f s -> %.0f MB/s wall, "
              "%.0f cells/s\n",
              static_cast<long long>(rows_per_chunk), wall, w_open, cpu, mb / wall, info.n_obs / wall);
  std::printf("wall inside reader_read_rows: %.3f s\n", in_read);
  if (pause_ms > 0) std::printf("(wall excludes %.3f s of pauses, %d ms after each chunk)\n", paused, pause_ms);
  std::printf("peak RSS %.1f MiB (before open %.1f MiB)\n", after.ru_maxrss / 1024.0, before.ru_maxrss / 1024.0);
  std::printf("checksum: value sum %.1f, index sum %lld\n", value_sum, static_cast<long long>(index_sum));
  return 0;
}
