/**
 * TypeScript's copy of metal/ferrum_params.h: each kernel's params struct as
 * an ordered list of 32-bit fields. The C header is the source of truth;
 * test/params-layout.test.ts compiles it and checks every size and offset
 * against these descriptors.
 */
export type FieldKind = 'u32' | 'i32' | 'f32';

export class ParamsStruct<F extends string> {
  readonly size: number;
  private readonly offsets: ReadonlyMap<F, number>;

  constructor(
    readonly cName: string,
    readonly fields: ReadonlyArray<readonly [F | '_pad', FieldKind]>,
  ) {
    this.size = fields.length * 4;
    const named: Array<[F, number]> = [];
    fields.forEach(([n], i) => {
      if (n !== '_pad') named.push([n as F, i * 4]);
    });
    this.offsets = new Map(named);
  }

  offsetOf(field: F): number {
    const o = this.offsets.get(field);
    if (o === undefined) throw new Error(`${this.cName} has no field ${field}`);
    return o;
  }

  /** Little-endian bytes of one struct; every named field must be given. */
  encode(values: Readonly<Record<F, number>>): Uint8Array {
    const buf = new ArrayBuffer(this.size);
    const dv = new DataView(buf);
    this.fields.forEach(([name, kind], i) => {
      if (name === '_pad') return;
      const v = values[name as F];
      if (v === undefined || !Number.isFinite(v)) throw new Error(`${this.cName}.${name}: missing or not finite (${v})`);
      if (kind === 'f32') dv.setFloat32(i * 4, v, true);
      else if (kind === 'i32') dv.setInt32(i * 4, v, true);
      else {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`${this.cName}.${name}: ${v} is not a u32`);
        dv.setUint32(i * 4, v, true);
      }
    });
    return new Uint8Array(buf);
  }
}

export const GetRowsParams = new ParamsStruct('fr_get_rows_params', [
  ['n_cols', 'u32'], ['n_rows', 'u32'], ['n_vocab', 'u32'], ['row_bytes', 'u32'],
] as const);

export const RmsNormParams = new ParamsStruct('fr_rms_norm_params', [
  ['n_cols', 'u32'], ['n_rows', 'u32'], ['eps', 'f32'], ['_pad', 'u32'],
] as const);

export const BinaryParams = new ParamsStruct('fr_binary_params', [
  ['n', 'u32'], ['n_b', 'u32'],
] as const);

export const RopeParams = new ParamsStruct('fr_rope_params', [
  ['head_dim', 'u32'], ['n_dims', 'u32'], ['n_head', 'u32'], ['n_tokens', 'u32'],
  ['pos0', 'u32'], ['mode', 'u32'], ['freq_base', 'f32'], ['freq_scale', 'f32'],
] as const);

export const KvStoreParams = new ParamsStruct('fr_kv_store_params', [
  ['n_cols', 'u32'], ['n_tokens', 'u32'], ['pos0', 'u32'], ['n_ctx', 'u32'], ['head_dim', 'u32'], ['_pad', 'u32'],
] as const);

export const AttnParams = new ParamsStruct('fr_attn_params', [
  ['n_head', 'u32'], ['n_head_kv', 'u32'], ['head_dim', 'u32'], ['n_tokens', 'u32'],
  ['pos0', 'u32'], ['n_ctx', 'u32'], ['scale', 'f32'], ['_pad', 'u32'],
] as const);

export const SoftmaxParams = new ParamsStruct('fr_softmax_params', [
  ['n_cols', 'u32'], ['n_rows', 'u32'], ['scale', 'f32'], ['_pad', 'u32'],
] as const);

export const GluParams = new ParamsStruct('fr_glu_params', [
  ['n', 'u32'], ['_pad', 'u32'],
] as const);

export const MulMatParams = new ParamsStruct('fr_mul_mat_params', [
  ['n_cols', 'u32'], ['n_rows', 'u32'], ['n_tokens', 'u32'], ['row_bytes', 'u32'],
] as const);

export const MoeRouteParams = new ParamsStruct('fr_moe_route_params', [
  ['n_expert', 'u32'], ['n_used', 'u32'], ['n_tokens', 'u32'], ['norm', 'u32'], ['scale', 'f32'], ['_pad', 'u32'],
] as const);

export const MulMatIdParams = new ParamsStruct('fr_mul_mat_id_params', [
  ['n_cols', 'u32'], ['n_rows', 'u32'], ['n_tokens', 'u32'], ['row_bytes', 'u32'],
  ['n_expert', 'u32'], ['n_used', 'u32'], ['x_per_slot', 'u32'], ['_pad', 'u32'],
] as const);

export const MoeSumParams = new ParamsStruct('fr_moe_sum_params', [
  ['n_cols', 'u32'], ['n_used', 'u32'], ['n_tokens', 'u32'], ['_pad', 'u32'],
] as const);

export const RepackParams = new ParamsStruct('fr_repack_params', [
  ['n_cols', 'u32'], ['n_rows', 'u32'], ['row_bytes', 'u32'], ['block_bytes', 'u32'],
]);

export const ALL_PARAMS: readonly ParamsStruct<string>[] = [
  GetRowsParams, RmsNormParams, BinaryParams, RopeParams, KvStoreParams, AttnParams, SoftmaxParams, GluParams, MulMatParams,
  MoeRouteParams, MulMatIdParams, MoeSumParams, RepackParams,
];
