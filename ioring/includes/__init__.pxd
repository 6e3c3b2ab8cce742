# ioring.includes: one .pxd per C header (docs/ARCHITECTURE.md, rule 2). Nothing here.
