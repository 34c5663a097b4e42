// SPDX-License-Identifier: Apache-2.0 OR MIT
// Speed probe for scripts/mesh_structures.sh: clocks a verilated systolic_ws (top class Vtop) with
// random weight and activation rows and one large GEMM command, and prints kcycles/s.
#include "Vtop.h"
#include "verilated.h"
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    const uint64_t cycles = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 3000;
    VerilatedContext* const ctx = new VerilatedContext;
    Vtop* const t = new Vtop{ctx, "TOP"};
    t->clk_i = 0;
    t->rst_ni = 0;
    t->eval();
    t->rst_ni = 1;
    t->eval();
    uint64_t x = 88172645463325252ull, sum = 0;
    auto rnd = [&x]() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return static_cast<uint32_t>(x);
    };
    const auto t0 = std::chrono::steady_clock::now();
    for (uint64_t c = 0; c < cycles; ++c) {
        t->cmd_valid_i = 1;
        t->cmd_m_i = 4095;
        t->cmd_k_i = 1023;
        t->cmd_n_i = 1023;
        t->wgt_valid_i = 1;
        t->act_valid_i = 1;
        t->res_ready_i = 1;
        for (size_t i = 0; i < sizeof(t->wgt_data_i) / 4; ++i) t->wgt_data_i[i] = rnd();
        for (size_t i = 0; i < sizeof(t->act_data_i) / 4; ++i) t->act_data_i[i] = rnd();
        t->eval();
        sum += t->res_valid_o + t->res_data_o[0];
        t->clk_i = 1;
        t->eval();
        t->clk_i = 0;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("cycles %llu seconds %.3f kcycles_per_s %.3f checksum %llu\n",
                static_cast<unsigned long long>(cycles), s, cycles / s / 1e3,
                static_cast<unsigned long long>(sum));
    t->final();
    delete t;
    delete ctx;
    return 0;
}
