// Tests of the progress display with a fake clock; expected texts are worked out by hand from the
// numbers fed in (rate = cells / seconds over the window, ETA = remaining / rate).
#include <gtest/gtest.h>

#include <sstream>
#include <thread>
#include <vector>

#include "progress.hpp"

using uce::cli::Progress;
using uce::cli::ProgressMode;
using uce::cli::ProgressOptions;

namespace {
ProgressOptions fake_clock(double& t, double interval = 10, double window = 20) {
  ProgressOptions o;
  o.clock = [&t] { return t; };
  o.line_interval_s = interval;
  o.window_s = window;
  o.tty_interval_s = 0.5;
  return o;
}
}  // namespace

TEST(Progress, FormatLine) {
  EXPECT_EQ(Progress::format_line(100, 1000, 10.0, 10.0),
            "100/1000 cells (10.0%) | 10.0 cells/s | elapsed 10s | ETA 1m30s");
  EXPECT_EQ(Progress::format_line(5, 0, 0.0, 3.0), "5 cells | -- cells/s | elapsed 3s");
  EXPECT_EQ(Progress::format_line(0, 10, 0.0, 0.0), "0/10 cells (0.0%) | -- cells/s | elapsed 0s | ETA --");
  EXPECT_EQ(Progress::format_line(10, 10, 2.0, 5.0), "10/10 cells (100.0%) | 2.0 cells/s | elapsed 5s");
  EXPECT_EQ(Progress::format_duration(59.4), "59s");
  EXPECT_EQ(Progress::format_duration(3 * 60 + 5), "3m05s");
  EXPECT_EQ(Progress::format_duration(2 * 3600 + 3 * 60 + 59), "2h03m");
}

TEST(Progress, LinesModeOneLinePerInterval) {
  double t = 0;
  std::ostringstream out;
  Progress p(1000, ProgressMode::Lines, out, fake_clock(t));
  t = 5;
  p.update(50);
  EXPECT_EQ(out.str(), "");  // not before the first interval
  t = 10;
  p.update(100);
  EXPECT_EQ(out.str(), "progress: 100/1000 cells (10.0%) | 10.0 cells/s | elapsed 10s | ETA 1m30s\n");
  t = 15;
  p.update(150);
  EXPECT_EQ(out.str().size(), std::string("progress: 100/1000 cells (10.0%) | 10.0 cells/s | elapsed 10s | ETA 1m30s\n").size());
  t = 100;
  p.update(1000);
  p.finish();
  p.finish();  // idempotent
  std::string all = out.str();
  EXPECT_NE(all.find("progress: 1000/1000 cells (100.0%)"), std::string::npos) << all;
  EXPECT_EQ(all.substr(all.rfind("done:")), "done: 1000 cells in 1m40s (10.0 cells/s)\n");
}

TEST(Progress, RateUsesASlidingWindow) {
  double t = 0;
  std::ostringstream out;
  Progress p(0, ProgressMode::Lines, out, fake_clock(t, 1000, 20));
  t = 10; p.update(100);
  t = 20; p.update(200);
  EXPECT_DOUBLE_EQ(p.rate(), 10.0);  // (200 - 0) / 20
  t = 30; p.update(600);
  // The window is 20 s: samples (10,100),(20,200),(30,600) remain -> (600-100)/(30-10) = 25.
  EXPECT_DOUBLE_EQ(p.rate(), 25.0);
}

TEST(Progress, TtyModeOverwritesOneLine) {
  double t = 0;
  std::ostringstream out;
  Progress p(200, ProgressMode::Tty, out, fake_clock(t));
  t = 1;
  p.update(100);
  EXPECT_EQ(out.str(), "\r100/200 cells (50.0%) | 100.0 cells/s | elapsed 1s | ETA 1s");
  t = 1.2;
  p.update(110);  // within tty_interval_s: not redrawn
  EXPECT_EQ(out.str(), "\r100/200 cells (50.0%) | 100.0 cells/s | elapsed 1s | ETA 1s");
  t = 2;
  p.update(200);
  std::string second = "\r200/200 cells (100.0%) | 100.0 cells/s | elapsed 2s";
  // The new line is shorter than the old one: padded with spaces to erase it.
  std::string first = "100/200 cells (50.0%) | 100.0 cells/s | elapsed 1s | ETA 1s";
  second.append(first.size() - (second.size() - 1), ' ');
  EXPECT_EQ(out.str().substr(out.str().rfind('\r')), second);
  p.finish();
  EXPECT_EQ(out.str().back(), '\n');
  EXPECT_EQ(out.str().find('\n'), out.str().size() - 1);  // only the final newline
}

TEST(Progress, NoneModePrintsNothing) {
  double t = 0;
  std::ostringstream out;
  Progress p(10, ProgressMode::None, out, fake_clock(t));
  t = 100;
  p.update(10);
  p.finish();
  EXPECT_EQ(out.str(), "");
}

TEST(Progress, AutoOnAStringStreamIsLines) {
  std::ostringstream out;
  Progress p(10, ProgressMode::Auto, out);
  EXPECT_EQ(p.mode(), ProgressMode::Lines);
  ProgressMode m;
  EXPECT_TRUE(uce::cli::parse_progress_mode("tty", m));
  EXPECT_EQ(m, ProgressMode::Tty);
  EXPECT_FALSE(uce::cli::parse_progress_mode("fancy", m));
}

TEST(Progress, ConcurrentUpdatesKeepTheMaximum) {
  double t = 0;
  std::ostringstream out;
  ProgressOptions o;
  o.line_interval_s = 0;  // draw on every update: stresses the lock around the stream
  Progress p(8000, ProgressMode::Lines, out, o);
  std::vector<std::thread> threads;
  for (int k = 0; k < 8; ++k)
    threads.emplace_back([&p, k] {
      for (int i = 1; i <= 1000; ++i) p.update(k * 1000 + i);
    });
  for (auto& th : threads) th.join();
  p.finish();
  std::string s = out.str();
  EXPECT_NE(s.find("done: 8000 cells"), std::string::npos) << s.substr(s.size() > 200 ? s.size() - 200 : 0);
  (void)t;
}
