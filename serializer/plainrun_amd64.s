//go:build amd64 && !purego

#include "textflag.h"

// Sixteen bytes at a time with SSE2, which every amd64 processor has. Each
// block is compared with each byte that ends a run; PMINUB against 0x1f
// finds the control characters (min(c, 0x1f) == c only for c <= 0x1f), and
// OR-ing the block itself in gives the top bit of every byte from 0x80 up.
// PMOVMSKB then makes one bit per byte, and the lowest set bit is the
// answer. Only whole blocks are read: the callers scan the rest.

// BROADCAST fills X with the byte of which C is eight copies.
#define BROADCAST(C, X) MOVQ $C, DX; MOVQ DX, X; PUNPCKLQDQ X, X

// TEST marks in X1 the bytes of X0 equal to those of C, using T.
#define TEST(C, T) MOVO X0, T; PCMPEQB C, T; POR T, X1

// func runBlocks(p *byte, n int, html bool) int
TEXT ·runBlocks(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	XORQ AX, AX
	BROADCAST(0x2222222222222222, X8)  // "
	BROADCAST(0x5c5c5c5c5c5c5c5c, X9)  // backslash
	BROADCAST(0x1f1f1f1f1f1f1f1f, X13)
	MOVO X8, X10 // without html, the three tests below find " again
	MOVO X8, X11
	MOVO X8, X12
	CMPB html+16(FP), $0
	JEQ  loop
	BROADCAST(0x2626262626262626, X10) // &
	BROADCAST(0x3c3c3c3c3c3c3c3c, X11) // <
	BROADCAST(0x3e3e3e3e3e3e3e3e, X12) // >

loop:
	LEAQ 16(AX), DX
	CMPQ DX, CX
	JGT  done
	MOVOU (SI)(AX*1), X0
	MOVO  X0, X1
	PMINUB X13, X1
	PCMPEQB X0, X1
	TEST(X8, X2)
	TEST(X9, X3)
	TEST(X10, X4)
	TEST(X11, X5)
	TEST(X12, X6)
	POR   X0, X1
	PMOVMSKB X1, BX
	TESTL BX, BX
	JNZ   found
	MOVQ  DX, AX
	JMP   loop

found:
	BSFL BX, BX
	ADDQ BX, AX

done:
	MOVQ AX, ret+24(FP)
	RET
