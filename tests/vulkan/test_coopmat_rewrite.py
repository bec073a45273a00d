#!/usr/bin/env python3
"""Checks plugins/vulkan/cmake/coopmat_nv_to_khr.py, the build-time rewrite of NV cooperative-matrix
SPIR-V into KHR SPIR-V, on shaders compiled here by glslc. Expectations come from the GLSL source
of each test shader (which matrix is A, B or C, which load is column-major) and from the
SPV_KHR_cooperative_matrix encoding, not from the tool's output. No device is needed: the CI
machine's lavapipe has no cooperative matrices (the H100 op harness runs the rewritten shaders).

usage: test_coopmat_rewrite.py GLSLC REWRITER
"""
import os
import struct
import subprocess
import sys
import tempfile
import unittest

GLSLC, REWRITER = sys.argv[1], sys.argv[2]

# A (f16 16x16, row-major load), B (f16 16x8, column-major load), C (f32 16x8): three distinct types.
DISTINCT = """#version 450
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x = 32) in;
layout(std430, binding = 0) buffer H { float16_t h[]; };
layout(std430, binding = 1) buffer F { float f[]; };
void main() {
  fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a;
  fcoopmatNV<16, gl_ScopeSubgroup, 16, 8> b;
  fcoopmatNV<32, gl_ScopeSubgroup, 16, 8> c = fcoopmatNV<32, gl_ScopeSubgroup, 16, 8>(0.0);
  coopMatLoadNV(a, h, 0, 24, false);
  coopMatLoadNV(b, h, 512, 40, true);
  c = coopMatMulAddNV(a, b, c);
  coopMatStoreNV(c, f, 0, 8, false);
}
"""
# 16x16x16: A and B are the same SPIR-V type, which KHR cannot express.
SHARED = DISTINCT.replace("16, 8>", "16, 16>")

OP_EXTENSION, OP_CAPABILITY, OP_TYPE_FLOAT, OP_CONSTANT = 10, 17, 22, 43
KHR_TYPE, KHR_LOAD, KHR_STORE, KHR_MULADD = 4456, 4457, 4458, 4459
NV_OPCODES = {5358, 5359, 5360, 5361, 5362}


def compile_glsl(source, folder):
    comp, spv = os.path.join(folder, "t.comp"), os.path.join(folder, "t.spv")
    with open(comp, "w") as f:
        f.write(source)
    subprocess.run([GLSLC, "--target-env=vulkan1.2", "-O", comp, "-o", spv], check=True)
    return spv


def rewrite(src, folder):
    dst = os.path.join(folder, "khr.spv")
    run = subprocess.run([sys.executable, REWRITER, src, dst], capture_output=True, text=True)
    return run, dst


def instructions(path):
    with open(path, "rb") as f:
        data = f.read()
    words = struct.unpack(f"<{len(data) // 4}I", data)
    out, i = [], 5
    while i < len(words):
        count, opcode = words[i] >> 16, words[i] & 0xFFFF
        out.append((opcode, list(words[i + 1:i + count])))
        i += count
    return words[3], out


class RewriteTest(unittest.TestCase):
    def test_distinct_types_become_khr_with_their_use_and_layout(self):
        with tempfile.TemporaryDirectory() as d:
            run, dst = rewrite(compile_glsl(DISTINCT, d), d)
            self.assertEqual(run.returncode, 0, run.stderr)
            bound, insts = instructions(dst)
        opcodes = {op for op, _ in insts}
        self.assertFalse(opcodes & NV_OPCODES, "NV cooperative-matrix instructions left")
        capabilities = [ops[0] for op, ops in insts if op == OP_CAPABILITY]
        self.assertIn(6022, capabilities)
        self.assertNotIn(5357, capabilities)
        extensions = [struct.pack(f"<{len(ops)}I", *ops).split(b"\0")[0] for op, ops in insts if op == OP_EXTENSION]
        self.assertIn(b"SPV_KHR_cooperative_matrix", extensions)
        self.assertNotIn(b"SPV_NV_cooperative_matrix", extensions)

        constants = {ops[1]: ops[2] for op, ops in insts if op == OP_CONSTANT and len(ops) == 3}
        float_width = {ops[0]: ops[1] for op, ops in insts if op == OP_TYPE_FLOAT}
        ids = [ops[0] for op, ops in insts if op in (KHR_TYPE,)]
        self.assertTrue(all(i < bound for i in ids))
        # (component bits, rows, columns) -> Use, as the shader source defines the roles.
        uses = {}
        for op, ops in insts:
            if op == KHR_TYPE:
                self.assertEqual(len(ops), 6)
                uses[(float_width[ops[1]], constants[ops[3]], constants[ops[4]])] = constants[ops[5]]
        self.assertEqual(uses, {(16, 16, 16): 0, (16, 16, 8): 1, (32, 16, 8): 2})

        # Loads: (pointer, layout, stride); a is row-major with stride 24, b column-major with 40.
        loads = sorted((constants[ops[4]], constants[ops[3]]) for op, ops in insts if op == KHR_LOAD)
        self.assertEqual(loads, [(24, 0), (40, 1)])
        stores = [(constants[ops[3]], constants[ops[2]]) for op, ops in insts if op == KHR_STORE]
        self.assertEqual(stores, [(8, 0)])
        self.assertEqual(sum(1 for op, _ in insts if op == KHR_MULADD), 1)

    def test_a_type_shared_by_a_and_b_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            run, dst = rewrite(compile_glsl(SHARED, d), d)
            self.assertEqual(run.returncode, 2)
            self.assertFalse(os.path.exists(dst), "no output file after a refusal")
        self.assertIn("used both as MatrixA and as MatrixB", run.stderr)
        self.assertEqual(len(run.stderr.strip().splitlines()), 1)

    def test_truncated_module_is_a_one_line_error_naming_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            spv = compile_glsl(DISTINCT, d)
            with open(spv, "rb") as f:
                data = f.read()
            cut = os.path.join(d, "cut.spv")
            with open(cut, "wb") as f:
                f.write(data[: len(data) // 2 // 4 * 4])
            run, _ = rewrite(cut, d)
        self.assertEqual(run.returncode, 2)
        self.assertIn("cut.spv", run.stderr)
        self.assertIn("past the end", run.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
