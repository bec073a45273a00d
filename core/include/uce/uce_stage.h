/* uce_stage.h — the C ABI of pipeline stage plugins (cell readers and embedding writers).
 *
 * A stage plugin exports `uce_plugin_entry` (uce_plugin.h) with kind = UCE_PLUGIN_STAGE and
 * iface pointing at a uce_stage_iface. A new input format (10x mtx, loom, zarr) or output format
 * is a new shared object implementing the reader or writer half of this table; the core only
 * talks to these slots. Same rules as uce_plugin.h: struct sizes first, append-only, status +
 * message on every fallible call, NULL slot = not provided.
 */
#ifndef UCE_STAGE_H
#define UCE_STAGE_H

#include "uce_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uce_reader uce_reader;
typedef struct uce_writer uce_writer;

typedef struct uce_reader_options {
  uint32_t struct_size;
  const char* path;        /* input file */
  const char* counts;      /* "X", "raw/X", "layers/<name>" */
  const char* gene_column; /* "" or NULL = var index, with the Ensembl fallback order */
  int64_t max_chunk_bytes; /* memory bound for one read_rows call's working set; 0 = default */
  void (*log)(void* user, int level, const char* line);
  void* log_user;
} uce_reader_options;

typedef struct uce_reader_info {
  uint32_t struct_size;
  int64_t n_obs;
  int64_t n_var;
  const char* layout;      /* e.g. "X: csr_matrix int32 indices, float32 data; obs: dataframe" */
  const char* gene_source; /* e.g. "var index" or "var column feature_name" */
} uce_reader_info;

/* Rows [row_begin, row_end) as CSR over the file's genes. Arrays stay valid until the next
 * read_rows/close on this reader. values are the stored numbers converted to double. */
typedef struct uce_csr_chunk {
  uint32_t struct_size;
  int64_t row_begin;
  int64_t n_rows;
  const int64_t* indptr;   /* n_rows + 1 entries, indptr[0] == 0 */
  const int32_t* indices;  /* gene (var) index per stored value */
  const double* values;
} uce_csr_chunk;

typedef struct uce_writer_options {
  uint32_t struct_size;
  const char* path;          /* final output path (.h5ad or .npy) */
  const char* source_path;   /* the input file, for obs/var/X copies; may be NULL */
  const char* counts;        /* where X came from in source, for copy_x */
  const char* key;           /* obsm key, e.g. "X_uce" */
  int64_t n_cols;            /* embedding width */
  int32_t copy_x;
  /* Genes used (var rows of the source, in order) for the output's var. */
  const int64_t* var_rows;
  int64_t n_var_rows;
  /* uns metadata as parallel arrays of key/value strings. */
  const char* const* uns_keys;
  const char* const* uns_values;
  int64_t n_uns;
  /* Identifies the run's settings; a partial output is resumed only when it matches. */
  const char* fingerprint;
  void (*log)(void* user, int level, const char* line);
  void* log_user;
} uce_writer_options;

typedef struct uce_stage_iface {
  uint32_t struct_size;
  /* reader half (NULL for a writer-only plugin) */
  uce_status (*reader_open)(const uce_reader_options* options, uce_reader** out, uce_error* err);
  void (*reader_info)(uce_reader* reader, uce_reader_info* out);
  const char* (*reader_var_name)(uce_reader* reader, int64_t var); /* gene symbol */
  const char* (*reader_obs_name)(uce_reader* reader, int64_t obs);
  uce_status (*reader_read_rows)(uce_reader* reader, int64_t row_begin, int64_t row_end,
                                 uce_csr_chunk* out, uce_error* err);
  void (*reader_close)(uce_reader* reader);
  /* writer half (NULL for a reader-only plugin). Rows arrive in source order. */
  uce_status (*writer_open)(const uce_writer_options* options, uce_writer** out, uce_error* err);
  uce_status (*writer_append)(uce_writer* writer, const int64_t* source_rows,
                              const float* embeddings, int64_t n_rows, uce_error* err);
  /* Write everything else and move the temporary file to its final name. */
  uce_status (*writer_finish)(uce_writer* writer, uce_error* err);
  /* Drop the temporary file; the final name is never touched. */
  void (*writer_abort)(uce_writer* writer);
  /* File name extensions this writer produces / reader accepts, e.g. ".h5ad" */
  const char* extensions;
  /* Optional (NULL = cannot resume): reopen the partial output an interrupted run with the same
   * options and fingerprint left behind. *rows_stored = embedding rows already stored;
   * *next_source_row = the source row after the last stored one (0 if none). If there is no
   * matching partial output, behaves like writer_open with *rows_stored = 0. */
  uce_status (*writer_resume)(const uce_writer_options* options, uce_writer** out,
                              int64_t* rows_stored, int64_t* next_source_row, uce_error* err);
  /* Optional (NULL = not provided): the values of obs column `column` for rows
   * [row_begin, row_end) as strings (categoricals by category name, missing values such as
   * categorical code -1 or a masked nullable value as "", floats printed with %.17g ("nan",
   * "inf", "-inf"), integers exactly, bools "True"/"False"). *out receives row_end - row_begin
   * pointers; the array and strings stay valid until the next call on this reader. Error if the
   * column does not exist (the message lists the available columns) or the range is outside
   * [0, n_obs]. Appended after writer_resume: callers must check
   * `iface->struct_size > offsetof(uce_stage_iface, reader_obs_strings)` (and the slot != NULL)
   * before using it. */
  uce_status (*reader_obs_strings)(uce_reader* reader, const char* column, int64_t row_begin,
                                   int64_t row_end, const char* const** out, uce_error* err);
} uce_stage_iface;

#ifdef __cplusplus
}
#endif
#endif /* UCE_STAGE_H */
