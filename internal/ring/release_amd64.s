//go:build amd64 && !race && !ring_seqcst

#include "textflag.h"

// func movl(p *uint32, v uint32)
// A plain MOV: a release store under x86-TSO (see release_amd64.go).
TEXT ·movl(SB), NOSPLIT|NOFRAME, $0-12
	MOVQ	p+0(FP), AX
	MOVL	v+8(FP), BX
	MOVL	BX, (AX)
	RET

// func movq(p *uint64, v uint64)
TEXT ·movq(SB), NOSPLIT|NOFRAME, $0-16
	MOVQ	p+0(FP), AX
	MOVQ	v+8(FP), BX
	MOVQ	BX, (AX)
	RET
