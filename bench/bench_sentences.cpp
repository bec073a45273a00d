// bench_sentences.cpp — issue "single-cell data path": how many cell sentences per second one core
// builds (uce_sentences' SentenceBuilder + CellWorkspace), for each sampler mode, on synthetic
// cells of ~3,000 expressed genes out of 20,000 with S = 1024 draws.
//
// The machine is shared, so each mode is timed on this thread's CPU clock (CLOCK_THREAD_CPUTIME_ID)
// as well as the wall clock; cells/s per core = cells / CPU seconds, median over the repeats.
// Optionally (--threads T) the per-cell mode also runs on T std::threads (cells split in blocks).
//
// --data-dir DIR writes the synthetic input as .npy files (genes_*.npy, cells_*.npy) for
// bench/python_official_sampling.py, plus the numpy-legacy sentences of the first cells with
// seed 0 (check_sentences.npy / check_lengths.npy): the Python baseline compares them token for
// token with the official code path, which shows that both sides do the same work.
//
// usage: uce_bench_sentences [--cells N] [--genes G] [--expressed E] [--repeats R]
//                            [--threads T] [--data-dir DIR]
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench_stats.hpp"
#include "synthetic_cells.hpp"
#include "uce/sentences/rng.hpp"
#include "uce/sentences/sampler.hpp"

namespace {

using namespace uce::sentences;
using uce::bench::SyntheticCells;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Builds the sentences of cells [begin, end) in `mode`; returns a checksum of the tokens so that
// the work cannot be optimised away. numpy-legacy uses one stream for the whole range.
int64_t build_range(const SentenceBuilder& builder, const SyntheticCells& cells, SamplerMode mode,
                    int64_t begin, int64_t end, uint64_t seed, std::vector<std::vector<int64_t>>* keep) {
  CellWorkspace ws;
  std::vector<int64_t> sentence;
  Mt19937Legacy legacy(static_cast<uint32_t>(seed));
  int64_t checksum = 0;
  for (int64_t r = begin; r < end; ++r) {
    ws.begin_cell();
    for (int64_t i = cells.indptr[r]; i < cells.indptr[r + 1]; ++i) ws.add(cells.indices[i], cells.counts[i]);
    CellStatus st;
    if (mode == SamplerMode::kNumpyLegacy) {
      st = build_sentence(builder, ws, legacy, sentence);
    } else {
      Pcg64Numpy rng = mode == SamplerMode::kPerCell ? per_cell_rng(seed, static_cast<uint64_t>(r))
                                                     : numpy_default_rng(static_cast<uint64_t>(r));
      st = build_sentence(builder, ws, rng, sentence);
    }
    if (st != CellStatus::kReady) continue;
    checksum += static_cast<int64_t>(sentence.size()) + sentence[sentence.size() / 2];
    if (keep) keep->push_back(sentence);
  }
  return checksum;
}

int arg_int(int argc, char** argv, const char* name, int def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  return def;
}
std::string arg_str(int argc, char** argv, const char* name) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  const int n_cells = arg_int(argc, argv, "--cells", 2000);
  const int n_genes = arg_int(argc, argv, "--genes", 20000);
  const int expressed = arg_int(argc, argv, "--expressed", 3000);
  const int repeats = arg_int(argc, argv, "--repeats", 5);
  const int threads = arg_int(argc, argv, "--threads", 0);
  const std::string data_dir = arg_str(argc, argv, "--data-dir");
  const uint64_t seed = 0;

  const auto genes = uce::bench::make_genes(n_genes, 25, 12345);
  const auto cells = uce::bench::make_cells(n_cells, n_genes, expressed, 67890);
  std::printf("synthetic: %d genes on 25 chromosomes, %lld cells, %.0f expressed genes/cell (mean), "
              "%zu stored values, S = 1024\n",
              n_genes, static_cast<long long>(cells.n_cells()),
              static_cast<double>(cells.indices.size()) / static_cast<double>(cells.n_cells()), cells.indices.size());

  GeneTable table{genes.token, genes.chrom, genes.start};
  auto made = SentenceBuilder::create(std::move(table), SentenceParams{});
  if (!made) {
    std::fprintf(stderr, "SentenceBuilder::create: %s\n", made.message().c_str());
    return 1;
  }
  const SentenceBuilder& builder = made.value();

  if (!data_dir.empty()) {
    const int n_check = std::min(50, n_cells);
    std::vector<std::vector<int64_t>> kept;
    build_range(builder, cells, SamplerMode::kNumpyLegacy, 0, n_check, 0, &kept);
    std::vector<int64_t> flat, lengths;
    for (const auto& s : kept) {
      lengths.push_back(static_cast<int64_t>(s.size()));
      flat.insert(flat.end(), s.begin(), s.end());
    }
    const std::string d = data_dir + "/";
    bool ok = uce::bench::write_npy(d + "genes_token.npy", genes.token) &&
              uce::bench::write_npy(d + "genes_chrom.npy", genes.chrom) &&
              uce::bench::write_npy(d + "genes_start.npy", genes.start) &&
              uce::bench::write_npy(d + "cells_indptr.npy", cells.indptr) &&
              uce::bench::write_npy(d + "cells_indices.npy", cells.indices) &&
              uce::bench::write_npy(d + "cells_counts.npy", cells.counts) &&
              uce::bench::write_npy(d + "check_sentences.npy", flat) &&
              uce::bench::write_npy(d + "check_lengths.npy", lengths);
    if (!ok) {
      std::fprintf(stderr, "%s: cannot write the .npy files\n", data_dir.c_str());
      return 1;
    }
    std::printf("wrote the synthetic cells and %d numpy-legacy check sentences (seed 0) to %s\n", n_check,
                data_dir.c_str());
  }

  std::printf("%-16s %14s %14s %12s %12s %10s\n", "mode", "cells/s/core", "cells/s wall", "cpu s (med)",
              "wall s (med)", "us/cell");
  int64_t sink = 0;
  for (SamplerMode mode : {SamplerMode::kPerCell, SamplerMode::kNumpyPerCell, SamplerMode::kNumpyLegacy}) {
    sink += build_range(builder, cells, mode, 0, std::min(n_cells, 200), seed, nullptr);  // warm-up
    std::vector<double> cpu, wall;
    for (int rep = 0; rep < repeats; ++rep) {
      const double c0 = thread_cpu_seconds(), w0 = uce::bench::now_seconds();
      sink += build_range(builder, cells, mode, 0, n_cells, seed, nullptr);
      cpu.push_back(thread_cpu_seconds() - c0);
      wall.push_back(uce::bench::now_seconds() - w0);
    }
    const auto c = uce::bench::summarize(cpu), w = uce::bench::summarize(wall);
    std::printf("%-16s %14.0f %14.0f %12.4f %12.4f %10.1f   (cpu min %.4f max %.4f, %d repeats)\n",
                std::string(to_string(mode)).c_str(), n_cells / c.median, n_cells / w.median, c.median, w.median,
                1e6 * c.median / n_cells, c.min, c.max, c.count);
  }

  if (threads > 1) {
    std::vector<double> wall, cpu;
    for (int rep = 0; rep < repeats; ++rep) {
      const double c0 = uce::bench::process_cpu_seconds(), w0 = uce::bench::now_seconds();
      std::vector<std::thread> pool;
      std::vector<int64_t> sums(static_cast<size_t>(threads));
      for (int t = 0; t < threads; ++t) {
        const int64_t b = static_cast<int64_t>(n_cells) * t / threads, e = static_cast<int64_t>(n_cells) * (t + 1) / threads;
        pool.emplace_back([&, t, b, e] { sums[static_cast<size_t>(t)] = build_range(builder, cells, SamplerMode::kPerCell, b, e, seed, nullptr); });
      }
      for (auto& th : pool) th.join();
      for (auto s : sums) sink += s;
      wall.push_back(uce::bench::now_seconds() - w0);
      cpu.push_back(uce::bench::process_cpu_seconds() - c0);
    }
    const auto w = uce::bench::summarize(wall), c = uce::bench::summarize(cpu);
    std::printf("per-cell x%d threads: %.0f cells/s wall (median %.4f s), %.0f cells/s per CPU second\n", threads,
                n_cells / w.median, w.median, n_cells / c.median);
  }
  std::printf("(checksum %lld)\n", static_cast<long long>(sink));
  return 0;
}
