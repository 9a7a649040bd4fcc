/**
 * Op records and plan blobs in the binary layout of ferrum_shim.h
 * (fr_op 168 bytes, fr_patch 20, fr_plan_header 24). A decode step is built
 * once as a list of OpRecords, encoded once, and replayed natively with only
 * the dynamic slots changing.
 */
export const FR_MAX_BINDINGS = 8;
export const FR_PLAN_MAGIC = 0x4c505246;
export const OP_BYTES = 168;
export const PATCH_BYTES = 20;
export const PLAN_HEADER_BYTES = 24;

/** The dynamic values of one replay (fr_plan_run's slot0..slot3). */
export enum Slot {
  /** Tokens in this step's batch. */
  NTokens = 0,
  /** Position of the batch's first token. */
  Pos0 = 1,
  /** Rows whose logits are wanted. */
  NOut = 2,
}
export type Slots = readonly [number, number, number, number];

export interface Binding {
  readonly buffer: number;
  readonly offset: number;
}

/** params[field] = slots[slot] * scale + bias (as int32). */
export interface ParamPatch {
  readonly field: number;
  readonly slot: Slot;
  readonly scale: number;
  readonly bias: number;
}

export interface OpRecord {
  readonly name: string;
  readonly kernel: number;
  readonly bindings: readonly Binding[];
  readonly params: Uint8Array;
  readonly patches: readonly ParamPatch[];
  readonly grid: readonly [number, number, number];
  readonly threadgroup: readonly [number, number, number];
}

function writeOp(dv: DataView, at: number, op: OpRecord, paramsOffset: number): void {
  if (op.bindings.length > FR_MAX_BINDINGS) throw new Error(`${op.name}: ${op.bindings.length} bindings (max ${FR_MAX_BINDINGS})`);
  dv.setInt32(at, op.kernel, true);
  dv.setUint32(at + 4, op.bindings.length, true);
  dv.setUint32(at + 8, paramsOffset, true);
  dv.setUint32(at + 12, op.params.length, true);
  for (let i = 0; i < 3; i++) {
    dv.setUint32(at + 16 + 4 * i, op.grid[i]!, true);
    dv.setUint32(at + 28 + 4 * i, op.threadgroup[i]!, true);
  }
  op.bindings.forEach((b, i) => {
    const o = at + 40 + 16 * i;
    dv.setInt32(o, b.buffer, true);
    dv.setBigUint64(o + 8, BigInt(b.offset), true);
  });
}

/** One fr_op for eager dispatch (params travel separately). */
export function encodeOp(op: OpRecord): Uint8Array {
  const out = new Uint8Array(OP_BYTES);
  writeOp(new DataView(out.buffer), 0, op, 0);
  return out;
}

/** Params with the slots applied: what eager mode sends, and what a replay computes natively. */
export function patchedParams(op: OpRecord, slots: Slots): Uint8Array {
  if (op.patches.length === 0) return op.params;
  const p = op.params.slice();
  const dv = new DataView(p.buffer);
  for (const x of op.patches) dv.setInt32(x.field, slots[x.slot] * x.scale + x.bias, true);
  return p;
}

export function encodePlan(ops: readonly OpRecord[]): Uint8Array {
  const nPatches = ops.reduce((n, op) => n + op.patches.length, 0);
  const paramsBytes = ops.reduce((n, op) => n + Math.ceil(op.params.length / 4) * 4, 0);
  const total = PLAN_HEADER_BYTES + OP_BYTES * ops.length + PATCH_BYTES * nPatches + paramsBytes;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, FR_PLAN_MAGIC, true);
  dv.setUint32(4, 1, true);
  dv.setUint32(8, ops.length, true);
  dv.setUint32(12, nPatches, true);
  dv.setUint32(16, paramsBytes, true);
  const patchBase = PLAN_HEADER_BYTES + OP_BYTES * ops.length;
  const paramsBase = patchBase + PATCH_BYTES * nPatches;
  let pOff = 0;
  let nP = 0;
  ops.forEach((op, i) => {
    writeOp(dv, PLAN_HEADER_BYTES + OP_BYTES * i, op, pOff);
    out.set(op.params, paramsBase + pOff);
    for (const x of op.patches) {
      const at = patchBase + PATCH_BYTES * nP++;
      dv.setUint32(at, i, true);
      dv.setUint32(at + 4, x.field, true);
      dv.setUint32(at + 8, x.slot, true);
      dv.setInt32(at + 12, x.scale, true);
      dv.setInt32(at + 16, x.bias, true);
    }
    pOff += Math.ceil(op.params.length / 4) * 4;
  });
  return out;
}
