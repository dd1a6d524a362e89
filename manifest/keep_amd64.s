//go:build amd64 && !purego

#include "textflag.h"

// keptPrefixAVX2 classifies bytes with two nibble lookups: a byte c is kept
// when keepLo[c&15] & keepHi[c>>4] != 0. Each bit of the tables stands for
// a group of high nibbles that share the same kept low nibbles:
//
//	bit 0: 0x2_ with low nibble D-F ('-' '.' '/')
//	bit 1: 0x3_ with low nibble 0-9 ('0'-'9')
//	bit 2: 0x4_ and 0x6_ with low nibble 1-F ('A'-'O', 'a'-'o')
//	bit 3: 0x5_ with low nibble 0-A or F ('P'-'Z', '_')
//	bit 4: 0x7_ with low nibble 0-A or E ('p'-'z', '~')
//
// keepHi maps each high nibble to its group's bit (none for 0x0_, 0x1_ and
// every non-ASCII byte), keepLo each low nibble to the groups that keep it.
// The tests check the result against keepByte for every byte value.
DATA keepLo<>+0x00(SB)/8, $0x1e1e1e1e1e1e1e1a // low nibble 0: groups 1, 3, 4; 1-7: groups 1-4
DATA keepLo<>+0x08(SB)/8, $0x0d150504041c1e1e // 8-9: groups 1-4; A: 2-4; B-C: 2; D: 0, 2; E: 0, 2, 4; F: 0, 2, 3
GLOBL keepLo<>(SB), RODATA|NOPTR, $16

DATA keepHi<>+0x00(SB)/8, $0x1004080402010000 // high nibble 2: group 0; 3: 1; 4: 2; 5: 3; 6: 2; 7: 4
DATA keepHi<>+0x08(SB)/8, $0x0000000000000000 // 8-F: non-ASCII, no group
GLOBL keepHi<>(SB), RODATA|NOPTR, $16

DATA lowNibble<>+0x00(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA lowNibble<>+0x08(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL lowNibble<>(SB), RODATA|NOPTR, $16

// ESCAPED sets each byte of V to 0xFF where it held a byte to escape and
// to 0 where it held a kept one, using T as scratch, the tables in LO and
// HI, 0x0F bytes in NIB and zero in ZERO. VPSHUFB looks up within each
// 128-bit lane, so the Y forms need the tables in both lanes. The shift
// is by words: the mask drops the bits it brings in from the next byte.
#define ESCAPED(V, T, LO, HI, NIB, ZERO) \
	VPSRLW   $4, V, T;   \
	VPAND    NIB, V, V;  \
	VPAND    NIB, T, T;  \
	VPSHUFB  V, LO, V;   \
	VPSHUFB  T, HI, T;   \
	VPAND    T, V, V;    \
	VPCMPEQB ZERO, V, V

// func keptPrefixAVX2(s []byte) int
//
// It needs len(s) >= 8. Strings of 8 to 31 bytes are read as two
// overlapping halves of 8 or 16 bytes each, one from each end; longer ones
// 32 bytes at a time, with the last 32 bytes read again (overlapping
// bytes already found kept) when len(s) is not a multiple of 32. So no
// byte outside s is read, even when s ends at the end of a page. The mask
// of bytes to escape has its lowest bit at the answer; TZCNT finds it, and
// since it is only used on a mask that is not zero, a CPU without BMI1
// (which runs it as BSF) gives the same result.
TEXT ·keptPrefixAVX2(SB), NOSPLIT, $0-32
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), BX
	VBROADCASTI128 keepLo<>(SB), Y4
	VBROADCASTI128 keepHi<>(SB), Y5
	VBROADCASTI128 lowNibble<>(SB), Y6
	VPXOR          Y7, Y7, Y7
	CMPQ           BX, $32
	JB             short

	XORQ AX, AX        // AX: start of the block at hand
	LEAQ -32(BX), DX   // DX: start of the last 32 bytes

loop:
	VMOVDQU   (SI)(AX*1), Y0
	ESCAPED(Y0, Y1, Y4, Y5, Y6, Y7)
	VPMOVMSKB Y0, CX
	TESTL     CX, CX
	JNZ       found
	ADDQ      $32, AX
	CMPQ      AX, DX
	JBE       loop

	// Fewer than 32 bytes are left: read the last 32.
	CMPQ      AX, BX
	JEQ       all
	MOVQ      DX, AX
	VMOVDQU   (SI)(AX*1), Y0
	ESCAPED(Y0, Y1, Y4, Y5, Y6, Y7)
	VPMOVMSKB Y0, CX
	TESTL     CX, CX
	JZ        all

found:
	TZCNTL CX, CX
	ADDQ   CX, AX
	MOVQ   AX, ret+24(FP)
	VZEROUPPER
	RET

all:
	MOVQ BX, ret+24(FP)
	VZEROUPPER
	RET

short:
	CMPQ BX, $16
	JB   tiny

	// 16 to 31 bytes: the first 16 in the low lane, the last 16 in the
	// high one.
	VMOVDQU     (SI), X0
	VINSERTI128 $1, -16(SI)(BX*1), Y0, Y0
	ESCAPED(Y0, Y1, Y4, Y5, Y6, Y7)
	VPMOVMSKB   Y0, DX
	MOVL        DX, AX
	ANDL        $0xffff, AX  // bit i: byte i
	SHRL        $16, DX      // bit i: byte len-16+i
	LEAQ        -16(BX), CX
	SHLL        CX, DX
	ORL         DX, AX
	JZ          all
	TZCNTL      AX, AX
	MOVQ        AX, ret+24(FP)
	VZEROUPPER
	RET

tiny:
	// 8 to 15 bytes: the first 8 in the low half, the last 8 in the high
	// one.
	VMOVQ     (SI), X0
	VPINSRQ   $1, -8(SI)(BX*1), X0, X0
	ESCAPED(X0, X1, X4, X5, X6, X7)
	VPMOVMSKB X0, DX
	MOVL      DX, AX
	ANDL      $0xff, AX  // bit i: byte i
	SHRL      $8, DX     // bit i: byte len-8+i
	LEAQ      -8(BX), CX
	SHLL      CX, DX
	ORL       DX, AX
	JZ        all
	TZCNTL    AX, AX
	MOVQ      AX, ret+24(FP)
	VZEROUPPER
	RET
