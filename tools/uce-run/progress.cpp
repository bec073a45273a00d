// progress.cpp — see progress.hpp.
#include "progress.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace uce::cli {

bool parse_progress_mode(const std::string& name, ProgressMode& out) {
  if (name == "auto") out = ProgressMode::Auto;
  else if (name == "tty") out = ProgressMode::Tty;
  else if (name == "lines") out = ProgressMode::Lines;
  else if (name == "none") out = ProgressMode::None;
  else return false;
  return true;
}

namespace {
bool stream_is_tty(const std::ostream& out) {
  if (&out == &std::cout) return isatty(STDOUT_FILENO) != 0;
  if (&out == &std::cerr || &out == &std::clog) return isatty(STDERR_FILENO) != 0;
  return false;
}
}  // namespace

Progress::Progress(int64_t total_cells, ProgressMode mode, std::ostream& out, ProgressOptions options)
    : total_(total_cells), mode_(mode), out_(out), opt_(std::move(options)) {
  if (mode_ == ProgressMode::Auto) mode_ = stream_is_tty(out_) ? ProgressMode::Tty : ProgressMode::Lines;
  start_ = now();
  window_.emplace_back(start_, 0);
  // A terminal line appears at once; log lines one interval after the start.
  if (mode_ == ProgressMode::Lines) last_draw_ = start_;
}

Progress::~Progress() = default;

double Progress::now() const {
  if (opt_.clock) return opt_.clock();
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string Progress::format_duration(double s) {
  if (!(s >= 0) || !std::isfinite(s)) return "?";
  long long t = std::llround(s);
  char buf[32];
  if (t < 60) std::snprintf(buf, sizeof buf, "%llds", t);
  else if (t < 3600) std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, (t % 3600) / 60);
  return buf;
}

std::string Progress::format_line(int64_t done, int64_t total, double rate, double elapsed_s) {
  char buf[160];
  std::string line;
  if (total > 0) {
    std::snprintf(buf, sizeof buf, "%lld/%lld cells (%.1f%%)", static_cast<long long>(done),
                  static_cast<long long>(total), 100.0 * static_cast<double>(done) / static_cast<double>(total));
  } else {
    std::snprintf(buf, sizeof buf, "%lld cells", static_cast<long long>(done));
  }
  line = buf;
  if (rate > 0) {
    std::snprintf(buf, sizeof buf, " | %.1f cells/s", rate);
    line += buf;
  } else {
    line += " | -- cells/s";
  }
  line += " | elapsed " + format_duration(elapsed_s);
  if (total > 0) {
    if (rate > 0 && done < total)
      line += " | ETA " + format_duration(static_cast<double>(total - done) / rate);
    else if (done < total)
      line += " | ETA --";
  }
  return line;
}

double Progress::rate_locked() const {
  if (window_.size() < 2) return 0;
  const auto& [t0, c0] = window_.front();
  const auto& [t1, c1] = window_.back();
  return t1 > t0 ? static_cast<double>(c1 - c0) / (t1 - t0) : 0;
}

double Progress::rate() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rate_locked();
}

void Progress::update(int64_t cells_done) {
  if (mode_ == ProgressMode::None) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  double t = now();
  done_ = std::max(done_, cells_done);  // updates from several threads may arrive out of order
  window_.emplace_back(t, done_);
  // Keep one sample at or before the window start so the rate always spans the whole window.
  while (window_.size() > 2 && window_[1].first <= t - opt_.window_s) window_.pop_front();

  if (mode_ == ProgressMode::Tty) {
    if (t - last_draw_ < opt_.tty_interval_s) return;
    std::string line = format_line(done_, total_, rate_locked(), t - start_);
    size_t width = line.size();
    if (width < last_width_) line.append(last_width_ - width, ' ');  // erase the longer old line
    last_width_ = width;
    out_ << '\r' << line << std::flush;
  } else {
    if (t - last_draw_ < opt_.line_interval_s) return;
    out_ << "progress: " << format_line(done_, total_, rate_locked(), t - start_) << '\n' << std::flush;
  }
  last_draw_ = t;
}

void Progress::finish() {
  if (mode_ == ProgressMode::None) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  double elapsed = now() - start_;
  double mean = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, " (%.1f cells/s)", mean);
  std::string line = "done: " + std::to_string(done_) + " cells in " + format_duration(elapsed) + buf;
  if (mode_ == ProgressMode::Tty) {
    if (line.size() < last_width_) line.append(last_width_ - line.size(), ' ');
    out_ << '\r' << line << '\n' << std::flush;
  } else {
    out_ << line << '\n' << std::flush;
  }
}

}  // namespace uce::cli
