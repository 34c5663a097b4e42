"""cocotb test of a vdx die top's CSR port, driven by cocotbext-axi's AXI4-Lite master (independent
verification IP). The register map comes from the die's `die.regs.json` (VDX_REGS); the test reads
every register after reset and checks its reset value, writes and reads back every read/write
register, and checks that an unmapped and an unaligned offset answer SLVERR."""
import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiLiteBus, AxiLiteMaster, AxiResp


class Suffixed:
    """The die top seen without the `_i`/`_o` port suffixes, so cocotbext-axi finds `s_axil_awaddr`
    (it names the AXI signals without suffixes)."""

    def __init__(self, dut):
        self._dut = dut
        self._log = dut._log
        self._name = dut._name

    def __dir__(self):
        names = []
        for n in dir(self._dut):
            for sfx in ("_i", "_o"):
                if n.endswith(sfx):
                    names.append(n[: -len(sfx)])
        return names

    def __getattr__(self, name):
        for sfx in ("_i", "_o"):
            if hasattr(self._dut, name + sfx):
                return getattr(self._dut, name + sfx)
        raise AttributeError(name)


def parts(value):
    """(register, offset, bits, reset) of every register a value spans, as vdx lays them out."""
    n = (value["width"] + 31) // 32
    out = []
    for i in range(n):
        name = value["name"] if n == 1 else f"{value['name']}_{i}"
        bits = min(value["width"] - 32 * i, 32)
        reset = (value["reset"] >> (32 * i)) & 0xFFFFFFFF if i < 2 else 0
        out.append((name, value["offset"] + 4 * i, bits, reset))
    return out


@cocotb.test()
async def every_register_over_axi_lite(dut):
    regs = json.loads(open(os.environ["VDX_REGS"]).read())
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    for name in dir(dut):
        # Every input idle until the master takes the bus: no stream beats, die-edge ports quiet.
        if name.endswith("_i") and name != "clk_i":
            getattr(dut, name).value = 0
    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, 4)
    dut.rst_ni.value = 1
    await ClockCycles(dut.clk_i, 2)
    axil = AxiLiteMaster(AxiLiteBus.from_prefix(Suffixed(dut), "s_axil"), dut.clk_i, dut.rst_ni, reset_active_level=False)
    checked = 0
    written = 0
    for group in regs["groups"]:
        for value in group["values"]:
            for name, offset, bits, reset in parts(value):
                resp = await axil.read(offset, 4)
                assert resp.resp == AxiResp.OKAY, f"{name}: {resp.resp}"
                data = int.from_bytes(resp.data, "little")
                if value["access"] == "pulse":
                    assert data == 0, f"{name} is a pulse register and must read 0, read {data:#x}"
                elif value["access"] in ("rw", "w1c"):
                    assert data == reset, f"{name} reads {data:#x} after reset, its reset is {reset:#x}"
                elif value["name"].endswith("fabric_bits"):
                    assert data == reset, f"{name} reads {data:#x}, expected {reset:#x}"
                checked += 1
                if value["access"] == "rw" and "route" not in name and not value["name"].endswith("_en"):
                    pattern = 0x5A5AA5A5 & ((1 << bits) - 1)
                    await axil.write_dword(offset, pattern)
                    back = await axil.read_dword(offset)
                    assert back == pattern, f"{name}: wrote {pattern:#x}, read back {back:#x}"
                    await axil.write_dword(offset, reset)
                    written += 1
    assert checked > 40 and written > 10, (checked, written)
    end = max(v["offset"] + 4 * ((v["width"] + 31) // 32) for g in regs["groups"] for v in g["values"])
    resp = await axil.read(end + 0x100, 4)
    assert resp.resp == AxiResp.SLVERR, f"an unmapped read answered {resp.resp}"
    resp = await axil.write(end + 0x100, b"\x01\x00\x00\x00")
    assert resp.resp == AxiResp.SLVERR, f"an unmapped write answered {resp.resp}"
    dut._log.info(f"{checked} registers read, {written} written and read back")
