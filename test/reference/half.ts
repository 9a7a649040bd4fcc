/**
 * IEEE half and bfloat16 decoding, written from the bit layouts so the
 * reference shares nothing with the kernels. Every finite half and bfloat16
 * is exactly representable as a float32, so these are exact.
 */

/** IEEE 754 binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits. */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // subnormal (and zero)
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

const scratch = new DataView(new ArrayBuffer(4));

/** bfloat16 is the top half of a float32. */
export function bf16ToF32(bits: number): number {
  scratch.setUint32(0, (bits & 0xffff) << 16, true);
  return scratch.getFloat32(0, true);
}
