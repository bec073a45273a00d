// pipeline_run.cpp — the flow graph of a run.
#include "pipeline_run.hpp"

#include <tbb/concurrent_queue.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/flow_graph.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <mutex>

#include "progress.hpp"
#include "sentence_npy.hpp"
#include "uce/sentences/cell_filter.hpp"
#include "uce/sentences/rng.hpp"

namespace uce::cli {
namespace {
using Clock = std::chrono::steady_clock;
using sentences::CellStatus;
using sentences::SamplerMode;

struct Batch {
  int64_t index = 0;
  std::vector<int64_t> rows;      // source rows of the batch's cells (kept cells only)
  std::vector<uint8_t> embed;     // 0 = already in the partial output (resume)
  std::vector<int64_t> indptr{0};  // the cells' counts over kept genes, CSR
  std::vector<int32_t> genes;
  std::vector<int64_t> counts;
  std::vector<std::vector<int64_t>> sentences;
  std::vector<CellStatus> status;
  std::vector<int64_t> out_rows;  // rows embedded, in order
  std::vector<float> embeddings;
};
using BatchPtr = std::shared_ptr<Batch>;

// Reads the input in row chunks and cuts the kept cells into batches (serial: the reader is not
// thread-safe; HDF5 reads are sequential anyway).
class BatchSource {
 public:
  BatchSource(const RunConfig& c, PreparedRun& run, int64_t resume_row, const std::atomic<bool>& stop)
      : c_(c), run_(run), resume_row_(resume_row), stop_(stop) {}
  Result<BatchPtr> next() {
    auto b = std::make_shared<Batch>();
    b->index = next_index_++;
    const auto& keep = run_.filter.keep_cell;
    const auto& kept_of_var = run_.alignment.kept_of_var;
    while (static_cast<int64_t>(b->rows.size()) < c_.batching.cells_per_batch) {
      if (row_ >= run_.cells_in_file || stop_.load()) break;
      if (row_ >= chunk_end_) {
        chunk_begin_ = row_;
        chunk_end_ = std::min(run_.cells_in_file, row_ + c_.input.chunk_rows);
        auto chunk = run_.reader->read(chunk_begin_, chunk_end_);
        if (!chunk) return chunk.status();
        chunk_ = *chunk;
      }
      const int64_t r = row_++;
      if (!keep[r]) continue;
      const int64_t local = r - chunk_begin_;
      for (int64_t i = chunk_.indptr[local]; i < chunk_.indptr[local + 1]; ++i) {
        const int32_t g = kept_of_var[chunk_.indices[i]];
        const double v = chunk_.values[i];
        if (g < 0 || !(v != 0.0)) continue;
        b->genes.push_back(g);
        // As the official tool: float32 first, then truncation to int64. A negative or NaN count
        // makes the cell unusable (the official code would fail on it): skipped and counted.
        b->counts.push_back(std::isnan(v) ? -1 : sentences::official_count(v));
      }
      b->indptr.push_back(static_cast<int64_t>(b->genes.size()));
      b->rows.push_back(r);
      b->embed.push_back(r >= resume_row_ ? 1 : 0);
    }
    if (b->rows.empty()) return BatchPtr();
    return b;
  }

 private:
  const RunConfig& c_;
  PreparedRun& run_;
  int64_t resume_row_;
  const std::atomic<bool>& stop_;
  int64_t row_ = 0, chunk_begin_ = 0, chunk_end_ = 0, next_index_ = 0;
  uce_csr_chunk chunk_{};
};

class Stats {
 public:
  explicit Stats(Clock::time_point t0) : t0_(t0) {}
  void record(const std::string& stage, Clock::time_point a, Clock::time_point b, int64_t cells) {
    std::lock_guard<std::mutex> lock(mu_);
    StageStats& s = stages_[stage];
    const double sa = seconds(a), sb = seconds(b);
    s.busy_s += sb - sa;
    if (s.first_s < 0 || sa < s.first_s) s.first_s = sa;
    s.last_s = std::max(s.last_s, sb);
    s.completions.emplace_back(sb, cells);
  }
  double seconds(Clock::time_point t) const { return std::chrono::duration<double>(t - t0_).count(); }
  std::map<std::string, StageStats> take() { return std::move(stages_); }

 private:
  Clock::time_point t0_;
  std::mutex mu_;
  std::map<std::string, StageStats> stages_;
};

}  // namespace

Result<RunOutcome> run_pipeline(const RunConfig& c, PreparedRun& run, const LogLine& log,
                                const std::atomic<bool>& stop, bool quiet) {
  using R = Result<RunOutcome>;
  RunOutcome outcome;
  const auto t0 = Clock::now();
  Stats stats(t0);
  const int64_t dim = run.embedder->output_dim();

  // Output: resume a matching partial file or start one.
  std::vector<int64_t> var_rows(run.alignment.var_index.begin(), run.alignment.var_index.end());
  const std::string fingerprint = c.fingerprint();
  const std::string version = UCE_VERSION;
  std::vector<std::string> uns_k = {"uce_engine_version", "uce_model", "uce_sampler", "uce_seed", "uce_checkpoint",
                                    "uce_token_table", "uce_compat_batch_size", "uce_fingerprint"};
  std::vector<std::string> uns_v = {version, run.embedder->summary(), c.sampling.mode, std::to_string(c.sampling.seed),
                                    c.model.checkpoint, run.embedder->table_choice(),
                                    std::to_string(c.batching.compat_batch_size), fingerprint};
  std::vector<const char*> uk, uv;
  for (size_t i = 0; i < uns_k.size(); ++i) {
    uk.push_back(uns_k[i].c_str());
    uv.push_back(uns_v[i].c_str());
  }
  uce_writer_options wo{};
  wo.struct_size = sizeof(wo);
  wo.path = c.output.path.c_str();
  wo.source_path = c.input.path.c_str();
  wo.counts = c.input.counts.c_str();
  wo.key = c.output.key.c_str();
  wo.n_cols = dim;
  wo.copy_x = c.output.copy_x;
  wo.var_rows = var_rows.data();
  wo.n_var_rows = static_cast<int64_t>(var_rows.size());
  wo.uns_keys = uk.data();
  wo.uns_values = uv.data();
  wo.n_uns = static_cast<int64_t>(uk.size());
  wo.fingerprint = fingerprint.c_str();
  int64_t rows_stored = 0, next_row = 0;
  auto writer = EmbeddingWriter::open(run.writer_stage, wo, c.output.resume, &rows_stored, &next_row);
  if (!writer) return writer.status();
  outcome.cells_resumed = rows_stored;
  if (rows_stored > 0)
    log(UCE_LOG_INFO, "resume: " + c.output.path + ".partial holds " + std::to_string(rows_stored) +
                          " cells; continuing from row " + std::to_string(next_row));
  // [output] npy: the same embeddings as float32 .npy, through the npy stage plugin.
  std::unique_ptr<EmbeddingWriter> npy_writer;
  if (run.npy_stage) {
    if (rows_stored > 0)
      return R::error(c.output.npy + ": [output] npy cannot be combined with resuming a partial run; remove " +
                      c.output.path + ".partial or the npy option");
    uce_writer_options no = wo;
    no.path = c.output.npy.c_str();
    int64_t unused_rows = 0, unused_next = 0;
    auto w = EmbeddingWriter::open(run.npy_stage, no, false, &unused_rows, &unused_next);
    if (!w) return w.status();
    npy_writer = w.take();
  }
  std::unique_ptr<SentenceNpyWriter> sentence_file;
  if (!c.output.sentences.empty()) {
    if (rows_stored > 0)
      return R::error(c.output.sentences + ": [output] sentences cannot be combined with resuming a partial run; remove " +
                      c.output.path + ".partial or the sentences option");
    auto s = SentenceNpyWriter::open(c.output.sentences, run.max_sentence_tokens, run.builder->params().pad_token);
    if (!s) return s.status();
    sentence_file = s.take();
  }

  // The report shows an evenly spaced subset of at most 20000 cells.
  const int64_t stride = std::max<int64_t>(1, (run.cells_kept + 19999) / 20000);
  const bool legacy = run.mode == SamplerMode::kNumpyLegacy;
  sentences::Mt19937Legacy legacy_rng(static_cast<uint32_t>(c.sampling.seed));
  tbb::enumerable_thread_specific<sentences::CellWorkspace> workspaces;

  BatchSource source(c, run, next_row, stop);
  Status failure = Status::ok();
  std::mutex failure_mu;
  auto fail = [&](const Status& s) {
    std::lock_guard<std::mutex> lock(failure_mu);
    if (failure) failure = s;
  };
  auto failed = [&] {
    std::lock_guard<std::mutex> lock(failure_mu);
    return !failure;
  };

  ProgressMode pmode = ProgressMode::Auto;
  if (quiet || c.log.progress == "none") pmode = ProgressMode::None;
  else if (c.log.progress == "tty") pmode = ProgressMode::Tty;
  else if (c.log.progress == "lines") pmode = ProgressMode::Lines;
  Progress progress(run.cells_kept, pmode, std::cerr);
  int64_t cells_done = rows_stored;

  // Why the model and the writer run on THIS thread, outside the flow graph: the backend (BLAS)
  // runs each kernel inside its own tbb::task_arena of `cores` threads, whose extra threads come
  // from oneTBB's global worker pool of cores - 1 workers. Were the model a graph node, it would
  // run on one of those workers and the backend's arena would lack it: on 2 cores (1 worker) the
  // backend ran single-threaded while this thread idled in wait_for_all() (UCE-brain: 390 ms/cell
  // through uce-run vs 220 in a model-only process; 218 with this design, bench/RESULTS.md,
  // 2026-11-23). So the graph only reads and builds sentences
  // (read -> limiter -> build -> sequencer -> handoff); the handoff puts each batch, in order, on
  // `ready`; this thread pops it, runs model + write, then lets the limiter admit the next batch.
  // The workers stay free to build the next batches and to join the backend's arena.
  tbb::concurrent_bounded_queue<BatchPtr> ready;  // bounded by the limiter; nullptr = the reader stopped
  int64_t batches_read = 0;                       // written by the (serial) read node only
  tbb::flow::graph g;
  tbb::flow::input_node<BatchPtr> read(g, [&](tbb::flow_control& fc) -> BatchPtr {
    auto stop_reading = [&]() -> BatchPtr {
      fc.stop();
      try {
        ready.push(nullptr);  // after this, batches_read is final (the consumer reads it then)
      } catch (const std::exception&) {
        ready.abort();  // cannot mark the end: wake the consumer instead (its pop then throws)
      }
      return nullptr;
    };
    if (failed()) return stop_reading();
    const auto a = Clock::now();
    try {
      auto b = source.next();
      if (!b) {
        fail(b.status());
        return stop_reading();
      }
      if (!*b) return stop_reading();
      stats.record("read", a, Clock::now(), static_cast<int64_t>((*b)->rows.size()));
      ++batches_read;
      return *b;
    } catch (const std::exception& e) {  // e.g. bad_alloc: a failure, not a stuck consumer
      fail(Status::error(std::string("reading cells: ") + e.what()));
      return stop_reading();
    }
  });
  // At most in_flight batches between reading and writing: memory is bounded by the config.
  tbb::flow::limiter_node<BatchPtr> limit(g, static_cast<size_t>(std::max<int64_t>(1, c.batching.in_flight)));
  auto build_sentences = [&](const BatchPtr& b) {
    const auto a = Clock::now();
    const size_t n = b->rows.size();
    b->sentences.assign(n, {});
    b->status.assign(n, CellStatus::kReady);
    auto fill = [&](sentences::CellWorkspace& ws, size_t i) {
      ws.begin_cell();
      for (int64_t k = b->indptr[i]; k < b->indptr[i + 1]; ++k) ws.add(b->genes[k], b->counts[k]);
      return ws.prepare(*run.builder);
    };
    if (legacy) {
      std::vector<sentences::CellWorkspace> ws(n);
      tbb::parallel_for(size_t(0), n, [&](size_t i) { b->status[i] = fill(ws[i], i); });
      for (size_t i = 0; i < n; ++i)
        if (b->status[i] == CellStatus::kReady) ws[i].draw(*run.builder, legacy_rng);
      tbb::parallel_for(size_t(0), n, [&](size_t i) {
        if (b->status[i] == CellStatus::kReady && b->embed[i]) ws[i].assemble(*run.builder, b->sentences[i]);
      });
    } else {
      tbb::parallel_for(size_t(0), n, [&](size_t i) {
        if (!b->embed[i]) return;
        auto& ws = workspaces.local();
        b->status[i] = fill(ws, i);
        if (b->status[i] != CellStatus::kReady) return;
        const auto row = static_cast<uint64_t>(b->rows[i]);
        auto rng = run.mode == SamplerMode::kNumpyPerCell ? sentences::numpy_default_rng(row)
                                                          : sentences::per_cell_rng(static_cast<uint64_t>(c.sampling.seed), row);
        ws.draw(*run.builder, rng);
        ws.assemble(*run.builder, b->sentences[i]);
      });
    }
    stats.record("sentences", a, Clock::now(), static_cast<int64_t>(n));
  };
  // numpy-legacy consumes ONE random stream in row order: its batches are built one at a time, in
  // order, with the deterministic parts still parallel inside the batch.
  tbb::flow::function_node<BatchPtr, BatchPtr> build(
      g, legacy ? tbb::flow::serial : tbb::flow::unlimited, [&](BatchPtr b) -> BatchPtr {
        if (failed()) return b;
        try {
          build_sentences(b);
        } catch (const std::exception& e) {  // the batch still goes on, so the consumer's count holds
          fail(Status::error(std::string("building sentences: ") + e.what()));
        }
        return b;
      });
  tbb::flow::sequencer_node<BatchPtr> in_order(g, [](const BatchPtr& b) { return static_cast<size_t>(b->index); });
  tbb::flow::function_node<BatchPtr, tbb::flow::continue_msg> handoff(g, tbb::flow::serial, [&](BatchPtr b) {
    try {
      ready.push(std::move(b));
    } catch (const std::exception& e) {  // cannot deliver: wake the consumer (its pop then throws)
      fail(Status::error(std::string("handing a batch to the model: ") + e.what()));
      ready.abort();
    }
    return tbb::flow::continue_msg();
  });

  auto model = [&](const BatchPtr& b) {
    const auto a = Clock::now();
    std::vector<const std::vector<int64_t>*> todo;
    for (size_t i = 0; i < b->rows.size(); ++i) {
      if (!b->embed[i]) continue;
      if (b->status[i] != CellStatus::kReady) continue;
      todo.push_back(&b->sentences[i]);
      b->out_rows.push_back(b->rows[i]);
    }
    if (Status s = run.embedder->embed(todo, b->embeddings); !s) fail(s);
    stats.record("model", a, Clock::now(), static_cast<int64_t>(todo.size()));
  };
  auto write = [&](const BatchPtr& b) {
    const auto a = Clock::now();
    for (size_t i = 0; i < b->rows.size(); ++i) {
      if (!b->embed[i]) continue;
      if (b->status[i] == CellStatus::kAllZero) ++outcome.cells_skipped_zero;
      else if (b->status[i] != CellStatus::kReady) ++outcome.cells_skipped_bad;
    }
    if (!b->out_rows.empty()) {
      if (Status s = (*writer)->append(b->out_rows, b->embeddings.data()); !s) fail(s);
      if (npy_writer)
        if (Status s = npy_writer->append(b->out_rows, b->embeddings.data()); !s) fail(s);
      if (sentence_file)
        for (size_t i = 0; i < b->rows.size(); ++i)
          if (b->embed[i] && b->status[i] == CellStatus::kReady)
            if (Status s = sentence_file->append(b->sentences[i]); !s) fail(s);
    }
    for (size_t i = 0; i < b->out_rows.size(); ++i) {
      if ((cells_done + static_cast<int64_t>(i)) % stride != 0) continue;
      outcome.sample_rows.push_back(b->out_rows[i]);
      outcome.sample_embeddings.insert(outcome.sample_embeddings.end(), b->embeddings.begin() + static_cast<ptrdiff_t>(i * dim),
                                       b->embeddings.begin() + static_cast<ptrdiff_t>((i + 1) * dim));
    }
    outcome.cells_embedded += static_cast<int64_t>(b->out_rows.size());
    cells_done += static_cast<int64_t>(b->out_rows.size());
    progress.update(cells_done);
    stats.record("write", a, Clock::now(), static_cast<int64_t>(b->out_rows.size()));
  };
  tbb::flow::make_edge(read, limit);
  tbb::flow::make_edge(limit, build);
  tbb::flow::make_edge(build, in_order);
  tbb::flow::make_edge(in_order, handoff);
  read.activate();
  // Every batch the reader produced reaches `ready` exactly once, in order; the reader's end mark
  // may come before the last of them (they may still be in the build stage), so the loop ends when
  // the mark was seen AND every batch read was consumed. After a failure batches are still popped
  // (and skipped) so the limiter keeps admitting and the graph drains.
  bool reader_stopped = false;
  for (int64_t consumed = 0; !reader_stopped || consumed < batches_read;) {
    BatchPtr b;
    try {
      ready.pop(b);
    } catch (const tbb::user_abort&) {
      break;  // the hand-off failed (recorded); wait_for_all() below drains the graph
    }
    if (!b) {
      reader_stopped = true;
      continue;
    }
    if (!failed()) model(b);
    if (!failed()) write(b);
    ++consumed;
    b.reset();  // free the batch before the limiter admits the next one
    limit.decrementer().try_put(tbb::flow::continue_msg());
  }
  g.wait_for_all();
  progress.finish();
  outcome.wall_s = stats.seconds(Clock::now());
  outcome.stages = stats.take();
  outcome.interrupted = stop.load();
  if (!failure || outcome.interrupted) {  // what was written stays, for a resume
    (*writer)->keep_partial();
    if (!failure) return failure;
    return outcome;
  }
  UCE_TRY((*writer)->finish());
  if (npy_writer) UCE_TRY(npy_writer->finish());
  if (sentence_file) UCE_TRY(sentence_file->finish());
  return outcome;
}

}  // namespace uce::cli
