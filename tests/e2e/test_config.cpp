// Tests of the uce-run config: schema defaults (from configs/README.md and uce-models.md), error
// positions, --set overrides, path resolution, the fingerprint and the effective TOML.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config.hpp"
#include "temp_dir.hpp"

using uce::cli::RunConfig;
using uce_test::TempDir;
namespace fs = std::filesystem;

namespace {

// A folder laid out like a user's: model_files/ as the official UCE download, data/, out/.
struct Workspace {
  TempDir dir;
  std::string pe_file;
  Workspace() {
    dir.write("model_files/4layer_model.torch");
    dir.write("model_files/species_chrom.csv", "gene_symbol,species,chromosome,start\n");
    dir.write("model_files/species_offsets.pkl");
    pe_file = dir.write("model_files/protein_embeddings/Homo_sapiens.GRCh38.gene_symbol_to_embedding_ESM2.pt");
    dir.write("data/cells.h5ad");
    dir.mkdir("out");
  }
  std::string config(const std::string& extra = "") const {
    return "[input]\npath = \"data/cells.h5ad\"\n"
           "[model]\ncheckpoint = \"model_files/4layer_model.torch\"\n"
           "[output]\npath = \"out/cells_uce.h5ad\"\n" + extra;
  }
  uce::Result<RunConfig> parse(const std::string& text, const std::vector<std::string>& sets = {}) const {
    return uce::cli::parse_run_config(text, "run.toml", sets, dir.str());
  }
};

std::string abs(const TempDir& d, const std::string& rel) { return fs::path(d.str(rel)).lexically_normal().string(); }

}  // namespace

TEST(Config, DefaultsFollowTheSchema) {
  Workspace ws;
  auto r = ws.parse(ws.config());
  ASSERT_TRUE(r) << r.message();
  const RunConfig& c = r.value();
  EXPECT_EQ(c.input.species, "human");
  EXPECT_EQ(c.input.counts, "X");
  EXPECT_EQ(c.input.gene_column, "");
  EXPECT_EQ(c.input.chunk_rows, 4096);
  EXPECT_EQ(c.input.max_chunk_mib, 256);
  EXPECT_TRUE(c.filter.enabled);
  EXPECT_EQ(c.filter.min_genes, 25);
  EXPECT_EQ(c.filter.min_cells, 10);
  EXPECT_EQ(c.filter.counts_policy, "warn");
  EXPECT_EQ(c.model.family, "uce");
  EXPECT_EQ(c.model.heads, 20);
  EXPECT_EQ(c.model.chrom_token_offset, 143574);
  EXPECT_EQ(c.model.cls_token, 3);
  EXPECT_EQ(c.model.chrom_close_token, 2);
  EXPECT_EQ(c.model.pad_token, 0);
  EXPECT_EQ(c.model.pad_length, 1536);
  EXPECT_EQ(c.model.esm_rows, 143574);
  EXPECT_EQ(c.model.full_rows, 145469);
  EXPECT_FALSE(c.model.case_insensitive);
  EXPECT_EQ(c.sampling.mode, "per-cell");
  EXPECT_EQ(c.sampling.seed, 0);
  EXPECT_EQ(c.sampling.sample_size, 1024);
  EXPECT_EQ(c.batching.cells_per_batch, 32);
  EXPECT_EQ(c.batching.compat_batch_size, 0);
  EXPECT_EQ(c.batching.max_tokens_per_batch, 0);
  EXPECT_EQ(c.batching.in_flight, 2);
  EXPECT_EQ(c.backends.default_order, std::vector<std::string>{"blas"});
  EXPECT_EQ(c.backends.threads, 0);
  EXPECT_EQ(c.backends.device, -1);
  EXPECT_FALSE(c.backends.fp16);
  EXPECT_TRUE(c.backends.coopmat);
  EXPECT_TRUE(c.ops.empty());
  EXPECT_TRUE(c.nodes.empty());
  EXPECT_EQ(c.output.key, "X_uce");
  EXPECT_FALSE(c.output.copy_x);
  EXPECT_TRUE(c.output.report);
  EXPECT_TRUE(c.output.manifest);
  EXPECT_EQ(c.output.color_by, "cell_type");
  EXPECT_TRUE(c.output.resume);
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.progress, "auto");
  // Resolved defaults: files = the checkpoint's folder; no all_tokens.torch there -> "" (the
  // checkpoint's table); the human .pt found in protein_embeddings/.
  EXPECT_EQ(c.model.files, abs(ws.dir, "model_files"));
  EXPECT_EQ(c.model.token_file, "");
  EXPECT_EQ(c.model.protein_embeddings, ws.pe_file);
  EXPECT_TRUE(c.is_set("input.path"));
  EXPECT_FALSE(c.is_set("model.heads"));
  // 32 cells * (1024 + 2*20 + 1) tokens when max_tokens_per_batch = 0.
  EXPECT_EQ(c.effective_max_tokens_per_batch(20), 32 * 1065);
}

TEST(Config, TokenFileDefaultsToAllTokensWhenPresent) {
  Workspace ws;
  std::string tokens = ws.dir.write("model_files/all_tokens.torch");
  auto r = ws.parse(ws.config());
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->model.token_file, tokens);
}

TEST(Config, RelativePathsResolveAgainstTheConfigFolder) {
  Workspace ws;
  std::string text = "[input]\npath = \"../data/cells.h5ad\"\n"
                     "[model]\ncheckpoint = \"../model_files/4layer_model.torch\"\n"
                     "[output]\npath = \"../out/x.h5ad\"\nnpy = \"../out/x.npy\"\n";
  std::string cfg_path = ws.dir.write("configs/run.toml", text);
  auto r = uce::cli::load_run_config(cfg_path, {});
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->input.path, abs(ws.dir, "data/cells.h5ad"));
  EXPECT_EQ(r->model.checkpoint, abs(ws.dir, "model_files/4layer_model.torch"));
  EXPECT_EQ(r->output.path, abs(ws.dir, "out/x.h5ad"));
  EXPECT_EQ(r->output.npy, abs(ws.dir, "out/x.npy"));
  EXPECT_EQ(r->source, cfg_path);
  // Absolute paths stay as they are.
  auto r2 = ws.parse(ws.config("npy = \"" + ws.dir.str("out/e.npy") + "\"\n"));
  ASSERT_TRUE(r2) << r2.message();
  EXPECT_EQ(r2->output.npy, ws.dir.str("out/e.npy"));
}

TEST(Config, UnknownKeyNamesFileLineAndColumn) {
  Workspace ws;
  auto r = ws.parse("[input]\npath = \"data/cells.h5ad\"\n  chunk_rowz = 5\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message().rfind("run.toml:3:3: key 'input.chunk_rowz': unknown key in [input]", 0), 0u)
      << r.message();
  EXPECT_NE(r.message().find("chunk_rows"), std::string::npos) << r.message();  // lists the valid keys
}

TEST(Config, UnknownSectionIsAnError) {
  Workspace ws;
  auto r = ws.parse(ws.config("[modle]\nheads = 4\n"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message().rfind("run.toml:7:1: unknown section [modle]", 0), 0u) << r.message();
}

TEST(Config, WrongTypeNamesTheValue) {
  Workspace ws;
  auto r = ws.parse(ws.config("[batching]\ncells_per_batch = \"many\"\n"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(),
            "run.toml:8:19: key 'batching.cells_per_batch': expected an integer >= 1, got string \"many\"");
  auto r2 = ws.parse(ws.config("[filter]\nenabled = 1\n"));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.message(), "run.toml:8:11: key 'filter.enabled': expected true or false, got integer 1");
  auto r3 = ws.parse(ws.config("[sampling]\nmode = \"numpy\"\n"));
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.message(), "run.toml:8:8: key 'sampling.mode': expected one of \"per-cell\", "
                          "\"numpy-per-cell\", \"numpy-legacy\", got string \"numpy\"");
}

TEST(Config, OutOfRangeValue) {
  Workspace ws;
  auto r = ws.parse(ws.config("[batching]\nin_flight = 0\n"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(), "run.toml:8:13: key 'batching.in_flight': expected an integer >= 1, got integer 0");
  auto r2 = ws.parse(ws.config("[backends]\ndevice = -2\n"));
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.message().find("key 'backends.device': expected an integer >= -1, got integer -2"), std::string::npos);
  // numpy-legacy seeds are 32-bit (std::mt19937 init).
  auto r3 = ws.parse(ws.config("[sampling]\nmode = \"numpy-legacy\"\nseed = 4294967296\n"));
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.message().rfind("run.toml:9:8: key 'sampling.seed': expected a 32-bit seed", 0), 0u) << r3.message();
}

TEST(Config, MissingInputFile) {
  Workspace ws;
  auto r = ws.parse("[input]\npath = \"data/nope.h5ad\"\n[model]\ncheckpoint = \"model_files/4layer_model.torch\"\n"
                    "[output]\npath = \"out/x.h5ad\"\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(), "run.toml:2:8: key 'input.path': expected an existing file, got \"" +
                             abs(ws.dir, "data/nope.h5ad") + "\" (not found)");
}

TEST(Config, MissingRequiredKeysAndOutputFolder) {
  Workspace ws;
  auto r = ws.parse("[model]\ncheckpoint = \"model_files/4layer_model.torch\"\n[output]\npath = \"out/x.h5ad\"\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("key 'input.path': required"), std::string::npos) << r.message();
  // An output only needs an existing parent folder.
  auto r2 = ws.parse(ws.config("npy = \"nofolder/x.npy\"\n"));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.message().rfind("run.toml:7:7: key 'output.npy': expected a path in an existing folder", 0), 0u)
      << r2.message();
  // The official files must be in model.files.
  fs::remove(ws.dir.path() / "model_files/species_offsets.pkl");
  auto r3 = ws.parse(ws.config());
  ASSERT_FALSE(r3);
  EXPECT_NE(r3.message().find("no species_offsets.pkl"), std::string::npos) << r3.message();
}

TEST(Config, InvalidTomlGivesPosition) {
  Workspace ws;
  auto r = ws.parse("[input]\npath = \"unterminated\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message().rfind("run.toml:2:", 0), 0u) << r.message();
  EXPECT_NE(r.message().find("invalid TOML"), std::string::npos);
}

TEST(Config, SetOverrides) {
  Workspace ws;
  auto r = ws.parse(ws.config(), {"batching.cells_per_batch=64", "log.level=debug", "ops.matmul=vulkan",
                                  "nodes.layer3.attn.qkv=opencl", "backends.default=[\"vulkan\", \"blas\"]",
                                  "backends.fp16=true", "input.species=mouse",
                                  "model.protein_embeddings=" + ws.pe_file});
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->batching.cells_per_batch, 64);
  EXPECT_EQ(r->log.level, "debug");  // a bare word is a string
  EXPECT_EQ(r->ops.at("linear"), "vulkan");  // matmul is an alias of linear
  EXPECT_EQ(r->nodes.at("layer3.attn.qkv"), "opencl");
  EXPECT_EQ(r->backends.default_order, (std::vector<std::string>{"vulkan", "blas"}));
  EXPECT_TRUE(r->backends.fp16);
  EXPECT_EQ(r->input.species, "mouse");
  EXPECT_TRUE(r->is_set("batching.cells_per_batch"));
  // --set wins over the file.
  auto r2 = ws.parse(ws.config("[batching]\ncells_per_batch = 8\n"), {"batching.cells_per_batch=16"});
  ASSERT_TRUE(r2) << r2.message();
  EXPECT_EQ(r2->batching.cells_per_batch, 16);
}

TEST(Config, BadSetOverrides) {
  Workspace ws;
  auto r = ws.parse(ws.config(), {"batching.cells_per_batch=abc"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message(), "--set batching.cells_per_batch=abc: key 'batching.cells_per_batch': "
                         "expected an integer >= 1, got string \"abc\"");
  auto r2 = ws.parse(ws.config(), {"batching.cells_per_batch"});
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.message(), "--set batching.cells_per_batch: expected section.key=value");
  auto r3 = ws.parse(ws.config(), {"batch.size=3"});
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.message().rfind("--set batch.size=3: unknown section [batch]", 0), 0u) << r3.message();
  auto r4 = ws.parse(ws.config(), {"model.layers=4"});
  ASSERT_FALSE(r4);
  EXPECT_EQ(r4.message().rfind("--set model.layers=4: key 'model.layers': unknown key in [model]", 0), 0u)
      << r4.message();
  auto r5 = ws.parse(ws.config(), {"input.path=does/not/exist.h5ad"});
  ASSERT_FALSE(r5);
  EXPECT_EQ(r5.message().rfind("--set input.path=does/not/exist.h5ad: key 'input.path': expected an existing file", 0), 0u)
      << r5.message();
}

TEST(Config, SetPathsResolveAgainstTheCurrentFolder) {
  Workspace ws;
  fs::path old = fs::current_path();
  fs::current_path(ws.dir.path() / "data");
  auto r = ws.parse(ws.config(), {"input.path=cells.h5ad"});
  fs::current_path(old);
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->input.path, abs(ws.dir, "data/cells.h5ad"));
}

TEST(Config, OpsKeysMustBeOpTypes) {
  Workspace ws;
  auto r = ws.parse(ws.config("[ops]\nattention = \"vulkan\"\nsoftmax = \"vulkan\"\n"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.message().rfind("run.toml:9:1: key 'ops.softmax': unknown op type", 0), 0u) << r.message();
  auto r2 = ws.parse(ws.config("[ops]\nlinear = \"blas\"\nmatmul = \"vulkan\"\n"));
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.message().find("conflicts"), std::string::npos) << r2.message();
  // --set replaces the other spelling of the same op type instead of conflicting with it.
  auto r3 = ws.parse(ws.config("[ops]\nlinear = \"blas\"\n"), {"ops.matmul=vulkan"});
  ASSERT_TRUE(r3) << r3.message();
  EXPECT_EQ(r3->ops.at("linear"), "vulkan");
}

TEST(Config, NodeNamesQuotedOrDotted) {
  Workspace ws;
  auto r = ws.parse(ws.config("[nodes]\n\"layer0.attn.qkv\" = \"vulkan\"\nlayer1.ffn.up = \"opencl\"\n"));
  ASSERT_TRUE(r) << r.message();
  EXPECT_EQ(r->nodes.size(), 2u);
  EXPECT_EQ(r->nodes.at("layer0.attn.qkv"), "vulkan");
  EXPECT_EQ(r->nodes.at("layer1.ffn.up"), "opencl");
  auto r2 = ws.parse(ws.config("[nodes]\n\"layer0\" = 3\n"));
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.message(), "run.toml:8:12: key 'nodes.layer0': expected a backend name (string), got integer 3");
}

TEST(Config, CountsValues) {
  Workspace ws;
  for (const char* ok : {"X", "raw/X", "layers/counts"}) {
    auto r = ws.parse(ws.config(), {std::string("input.counts=") + ok});
    EXPECT_TRUE(r) << ok << ": " << r.message();
  }
  auto r = ws.parse(ws.config(), {"input.counts=layers/"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("key 'input.counts': expected \"X\", \"raw/X\" or \"layers/<name>\""), std::string::npos)
      << r.message();
}

TEST(Config, FingerprintFollowsEmbeddingSettingsOnly) {
  Workspace ws;
  auto base = ws.parse(ws.config());
  ASSERT_TRUE(base) << base.message();
  const std::string fp = base->fingerprint();
  EXPECT_EQ(fp.size(), 16u);
  EXPECT_EQ(fp, ws.parse(ws.config())->fingerprint());  // stable
  for (const char* change : {"sampling.seed=1", "sampling.mode=numpy-per-cell", "sampling.sample_size=512",
                             "model.heads=16", "model.chrom_token_offset=143000", "filter.min_genes=30",
                             "filter.enabled=false", "batching.compat_batch_size=25", "backends.fp16=true",
                             "backends.coopmat=false", "input.counts=raw/X", "input.gene_column=symbol",
                             "input.species=mouse"}) {
    std::vector<std::string> sets = {change};
    if (std::string(change) == "input.species=mouse") sets.push_back("model.protein_embeddings=" + ws.pe_file);
    auto r = ws.parse(ws.config(), sets);
    ASSERT_TRUE(r) << change << ": " << r.message();
    EXPECT_NE(r->fingerprint(), fp) << change;
  }
  for (const std::string& same : std::vector<std::string>{"output.report=false", "output.manifest=false", "batching.cells_per_batch=7",
                           "batching.in_flight=4", "backends.threads=2", "log.level=debug", "log.progress=none",
                           "output.path=" + ws.dir.str("out/other.h5ad"), "ops.attention=vulkan", "input.chunk_rows=100"}) {
    auto r = ws.parse(ws.config(), {same});
    ASSERT_TRUE(r) << same << ": " << r.message();
    EXPECT_EQ(r->fingerprint(), fp) << same;
  }
}

TEST(Config, EffectiveTomlParsesBackToTheSameConfig) {
  Workspace ws;
  auto r = ws.parse(ws.config("[nodes]\n\"layer0.attn.qkv\" = \"vulkan\"\n[ops]\nmatmul = \"blas\"\n"),
                    {"sampling.seed=7", "output.color_by=type \"A\"\\b"});
  ASSERT_TRUE(r) << r.message();
  std::string text = r->to_toml();
  auto back = uce::cli::parse_run_config(text, "effective.toml", {}, "/");
  ASSERT_TRUE(back) << back.message() << "\n" << text;
  EXPECT_EQ(back->fingerprint(), r->fingerprint());
  EXPECT_EQ(back->to_toml(), text);
  EXPECT_EQ(back->output.color_by, "type \"A\"\\b");
  EXPECT_EQ(back->nodes.at("layer0.attn.qkv"), "vulkan");
  EXPECT_EQ(back->ops.at("linear"), "blas");
}

TEST(Config, UceBrainFamily) {
  Workspace ws;
  ws.dir.write("brain/config.json", "{}");
  ws.dir.write("brain/model.safetensors");
  std::string mapping = ws.dir.write("brain/human_gene_dict.json", "{}");
  std::string text = "[input]\npath = \"data/cells.h5ad\"\n[model]\nfamily = \"uce-brain\"\ncheckpoint = \"brain\"\n"
                     "gene_mapping = \"brain/human_gene_dict.json\"\n[output]\npath = \"out/b.h5ad\"\n";
  auto r = ws.parse(text);
  ASSERT_TRUE(r) << r.message();
  // The pilot's token layout (uce-models.md §2) when not given; heads come from config.json (0).
  EXPECT_EQ(r->model.cls_token, 1);
  EXPECT_EQ(r->model.chrom_token_offset, 1000);
  EXPECT_EQ(r->model.chrom_close_token, 2000);
  EXPECT_EQ(r->model.pad_token, 0);
  EXPECT_EQ(r->model.pad_length, 2048);
  EXPECT_EQ(r->model.heads, 0);
  EXPECT_EQ(r->model.gene_mapping, mapping);
  auto r2 = ws.parse(text, {"model.chrom_token_offset=237411", "model.heads=4"});
  ASSERT_TRUE(r2) << r2.message();
  EXPECT_EQ(r2->model.chrom_token_offset, 237411);
  EXPECT_EQ(r2->model.heads, 4);
  fs::remove(ws.dir.path() / "brain/model.safetensors");
  auto r3 = ws.parse(text);
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.message(), "run.toml:5:14: key 'model.checkpoint': expected a model folder with config.json and "
                          "model.safetensors, got \"" + abs(ws.dir, "brain") + "\" (no model.safetensors)");
}

TEST(ProteinEmbeddings, OfficialNamePrefixAndErrors) {
  TempDir d;
  d.mkdir("protein_embeddings");
  std::string human = d.write("protein_embeddings/Homo_sapiens.GRCh38.gene_symbol_to_embedding_ESM2.pt");
  std::string mouse = d.write("protein_embeddings/Mus_musculus.GRCm40.custom.pt");
  auto h = uce::cli::find_protein_embedding_file(d.str(), "human");
  ASSERT_TRUE(h) << h.message();
  EXPECT_EQ(h.value(), human);
  auto m = uce::cli::find_protein_embedding_file(d.str(), "mouse");  // not the official name: by prefix
  ASSERT_TRUE(m) << m.message();
  EXPECT_EQ(m.value(), mouse);
  auto z = uce::cli::find_protein_embedding_file(d.str(), "zebrafish");
  ASSERT_FALSE(z);
  EXPECT_NE(z.message().find("Danio_rerio.GRCz11.gene_symbol_to_embedding_ESM2.pt"), std::string::npos) << z.message();
  EXPECT_NE(z.message().find("Danio_rerio.*.pt"), std::string::npos) << z.message();
  EXPECT_NE(z.message().find("new_species_protein_embeddings.csv"), std::string::npos) << z.message();
  // Species added with the official tool's table.
  std::string axolotl = d.write("extra/axolotl.pt");
  d.write("new_species_protein_embeddings.csv", "species,path\naxolotl,extra/axolotl.pt\n");
  auto a = uce::cli::find_protein_embedding_file(d.str(), "axolotl");
  ASSERT_TRUE(a) << a.message();
  EXPECT_EQ(a.value(), axolotl);
  EXPECT_EQ(uce::cli::uce_species_files().size(), 8u);
}

TEST(Config, ShippedExampleConfigsAreValid) {
  // Mock of what a user downloads, laid out as the configs' comments say (repository root).
  TempDir root;
  root.write("model_files/4layer_model.torch");
  root.write("model_files/33l_8ep_1024t_1280.torch");
  root.write("model_files/all_tokens.torch");
  root.write("model_files/species_chrom.csv");
  root.write("model_files/species_offsets.pkl");
  root.write("model_files/protein_embeddings/Homo_sapiens.GRCh38.gene_symbol_to_embedding_ESM2.pt");
  root.write("model_files/uce-brain-pilot-8l-512d/config.json", "{}");
  root.write("model_files/uce-brain-pilot-8l-512d/model.safetensors");
  root.write("model_files/human_gene_dict.json", "{}");
  root.write("data/your_cells.h5ad");
  root.mkdir("out");
  for (const char* name : {"uce-4layer.toml", "uce-33layer.toml", "uce-brain.toml"}) {
    std::ifstream in(std::string(UCE_CONFIGS_DIR) + "/" + name);
    ASSERT_TRUE(in) << name;
    std::stringstream text;
    text << in.rdbuf();
    std::string path = root.write(std::string("configs/") + name, text.str());
    auto r = uce::cli::load_run_config(path, {});
    ASSERT_TRUE(r) << name << ": " << r.message();
    EXPECT_EQ(r->input.path, abs(root, "data/your_cells.h5ad")) << name;
    if (std::string(name) == "uce-brain.toml") {
      EXPECT_EQ(r->model.family, "uce-brain");
      EXPECT_EQ(r->sampling.mode, "numpy-per-cell");
      EXPECT_EQ(r->model.gene_mapping, abs(root, "model_files/human_gene_dict.json"));
    } else {
      EXPECT_EQ(r->model.family, "uce");
      EXPECT_EQ(r->model.heads, 20);
      EXPECT_EQ(r->model.token_file, abs(root, "model_files/all_tokens.torch"));
    }
  }
}
