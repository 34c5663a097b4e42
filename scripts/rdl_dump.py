#!/usr/bin/env python3
"""Compiles a SystemRDL file with systemrdl-compiler (PeakRDL's front end) and prints every
register as JSON: [name, absolute address, field width, reset, sw access]. The die tests compare
this with vdx's own register map, so the map vdx writes is the map a standard tool reads."""
import json
import sys

from systemrdl import RDLCompiler
from systemrdl.node import RegNode

rdlc = RDLCompiler()
rdlc.compile_file(sys.argv[1])
root = rdlc.elaborate()
out = []
for node in root.descendants(unroll=True):
    if isinstance(node, RegNode):
        field = node.fields()[0]
        out.append([node.inst_name, node.absolute_address, field.width, field.get_property("reset") or 0,
                    field.get_property("sw").name])
json.dump(out, sys.stdout)
