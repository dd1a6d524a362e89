package inventory

import "errors"

// Thrift compact-protocol structure checks for Parquet metadata.
//
// parquet-go's thrift decoder sizes slices and byte strings from the
// lengths it reads, so a footer or page header that lies about a length
// can make it allocate gigabytes from a few bytes. checkThriftStruct walks
// an encoded struct without decoding it and fails unless every list, set,
// map and binary length fits in the bytes that remain; only then is the
// struct handed to the real decoder, whose allocations are then bounded by
// the input's size.

var errThrift = errors.New("malformed thrift metadata")

// maxThriftDepth bounds struct and container nesting; Parquet metadata is
// at most a few levels deep.
const maxThriftDepth = 32

// thrift compact type codes.
const (
	tcTrue   = 1
	tcFalse  = 2
	tcByte   = 3
	tcI16    = 4
	tcI32    = 5
	tcI64    = 6
	tcDouble = 7
	tcBinary = 8
	tcList   = 9
	tcSet    = 10
	tcMap    = 11
	tcStruct = 12
)

type thriftChecker struct {
	b   []byte
	pos int
}

// checkThriftStruct checks the struct at the start of b and returns its
// encoded length.
func checkThriftStruct(b []byte) (int, error) {
	c := thriftChecker{b: b}
	if err := c.structBody(0); err != nil {
		return 0, err
	}
	return c.pos, nil
}

func (c *thriftChecker) byte1() (byte, error) {
	if c.pos >= len(c.b) {
		return 0, errThrift
	}
	v := c.b[c.pos]
	c.pos++
	return v, nil
}

func (c *thriftChecker) uvarint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		x, err := c.byte1()
		if err != nil {
			return 0, err
		}
		v |= uint64(x&0x7f) << shift
		if x < 0x80 {
			return v, nil
		}
	}
	return 0, errThrift
}

func (c *thriftChecker) skip(n uint64) error {
	if n > uint64(len(c.b)-c.pos) {
		return errThrift
	}
	c.pos += int(n)
	return nil
}

// fits checks that n container elements, each
// at least one byte long, fit in what remains.
func (c *thriftChecker) fits(n uint64) error {
	if n > uint64(len(c.b)-c.pos) || n > 1<<31-1 {
		return errThrift
	}
	return nil
}

func (c *thriftChecker) structBody(depth int) error {
	if depth > maxThriftDepth {
		return errThrift
	}
	for {
		h, err := c.byte1()
		if err != nil {
			return err
		}
		if h == 0 {
			return nil
		}
		if h>>4 == 0 { // long form: zigzag varint field id follows
			if _, err := c.uvarint(); err != nil {
				return err
			}
		}
		switch t := h & 0x0f; t {
		case tcTrue, tcFalse:
		default:
			if err := c.value(t, depth); err != nil {
				return err
			}
		}
	}
}

func (c *thriftChecker) value(t byte, depth int) error {
	switch t {
	case tcTrue, tcFalse, tcByte:
		_, err := c.byte1()
		return err
	case tcI16, tcI32, tcI64:
		_, err := c.uvarint()
		return err
	case tcDouble:
		return c.skip(8)
	case tcBinary:
		n, err := c.uvarint()
		if err != nil {
			return err
		}
		return c.skip(n)
	case tcList, tcSet:
		h, err := c.byte1()
		if err != nil {
			return err
		}
		n := uint64(h >> 4)
		if n == 15 {
			if n, err = c.uvarint(); err != nil {
				return err
			}
		}
		if err := c.fits(n); err != nil {
			return err
		}
		et := h & 0x0f
		for i := uint64(0); i < n; i++ {
			if err := c.value(et, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tcMap:
		n, err := c.uvarint()
		if err != nil || n == 0 {
			return err
		}
		if err := c.fits(2 * n); err != nil {
			return err
		}
		kv, err := c.byte1()
		if err != nil {
			return err
		}
		for i := uint64(0); i < n; i++ {
			if err := c.value(kv>>4, depth+1); err != nil {
				return err
			}
			if err := c.value(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tcStruct:
		return c.structBody(depth + 1)
	}
	return errThrift
}
