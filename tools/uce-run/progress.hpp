// progress.hpp — the progress display of a run: one self-overwriting line on a terminal, a plain
// line every few seconds otherwise (logs, CI), or nothing.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <utility>

namespace uce::cli {

enum class ProgressMode { Auto, Tty, Lines, None };

// "auto" | "tty" | "lines" | "none" (the log.progress config value); false if unknown.
bool parse_progress_mode(const std::string& name, ProgressMode& out);

struct ProgressOptions {
  double line_interval_s = 10.0;  // Lines mode: at most one line per interval
  double tty_interval_s = 0.2;    // Tty mode: redraw at most this often
  double window_s = 20.0;         // the cells/s rate is measured over this sliding window
  std::function<double()> clock;  // seconds, monotonic; empty = std::chrono::steady_clock
};

class Progress {
 public:
  // total_cells <= 0: unknown total (no percentage, no ETA). Auto = Tty when `out` is std::cout or
  // std::cerr/clog attached to a terminal, else Lines.
  Progress(int64_t total_cells, ProgressMode mode, std::ostream& out, ProgressOptions options = {});
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // cells_done is the running total (not an increment). Thread-safe; cheap when nothing is drawn.
  void update(int64_t cells_done);
  // Prints the final line ("N cells in T (R cells/s)"); idempotent.
  void finish();

  ProgressMode mode() const { return mode_; }
  // Cells per second over the sliding window (0 before two samples).
  double rate() const;

  // The text of one status line, without "\r" or "\n": exposed for tests.
  static std::string format_line(int64_t done, int64_t total, double rate, double elapsed_s);
  static std::string format_duration(double seconds);  // "42s", "3m05s", "2h03m"

 private:
  double now() const;
  double rate_locked() const;

  int64_t total_;
  ProgressMode mode_;
  std::ostream& out_;
  ProgressOptions opt_;
  double start_ = 0;
  double last_draw_ = -1e300;
  int64_t done_ = 0;
  size_t last_width_ = 0;
  bool finished_ = false;
  std::deque<std::pair<double, int64_t>> window_;  // (time, cells done) samples
  mutable std::mutex mu_;
};

}  // namespace uce::cli
