// bench_stats.hpp — the benchmark's timing helpers: a wall clock and median/min/max of samples.
#pragma once

#include <algorithm>
#include <chrono>
#include <sys/resource.h>
#include <vector>

namespace uce::bench {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU seconds (user + system) used so far by every thread of this process. On a shared machine
// the wall clock depends on the other processes' load; the CPU time much less so.
inline double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Summary {
  double median = 0, min = 0, max = 0;
  int count = 0;
};

inline Summary summarize(std::vector<double> samples) {
  Summary s;
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  s.count = static_cast<int>(n);
  s.min = samples.front();
  s.max = samples.back();
  s.median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  return s;
}

// Runs `body` `warmup` times untimed, then `repeats` times timed; returns the seconds per run.
template <typename Body>
std::vector<double> time_runs(int warmup, int repeats, const Body& body) {
  for (int i = 0; i < warmup; ++i) body();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const double t0 = now_seconds();
    body();
    t.push_back(now_seconds() - t0);
  }
  return t;
}

}  // namespace uce::bench
