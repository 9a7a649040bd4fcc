/* dispatch.c — resolving op records, and eager (one op per call) dispatch. */
#include <string.h>

#include "dispatch.h"

int32_t fr_bind_op(fr_device *dev, const fr_op *rec, fr_bound_op *out) {
  memset(out, 0, sizeof *out);
  const fr_kernel_desc *k = fr_kernel_by_id(rec->kernel);
  if (!k) return fr_fail(FR_E_INVALID, "unknown kernel id %d", rec->kernel);
  if (k->available && !k->available(k->type))
    return fr_fail(FR_E_UNSUPPORTED, "kernel %s is not supported by this CPU build", k->name);
  if (rec->n_bindings != k->n_bindings)
    return fr_fail(FR_E_INVALID, "%s takes %u bindings, the op has %u", k->name, k->n_bindings, rec->n_bindings);
  if (rec->params_size != k->params_size)
    return fr_fail(FR_E_INVALID, "%s takes %u bytes of params, the op has %u", k->name, k->params_size,
                   rec->params_size);
  out->k = k;
  for (uint32_t i = 0; i < k->n_bindings; i++) {
    const fr_binding *b = &rec->bindings[i];
    fr_buffer *buf = fr_buffer_get(b->buffer);
    if (!buf) return fr_fail_context(FR_E_INVALID, "%s: binding %u (%s): ", k->name, i, k->binding_names[i]);
    if (buf->dev != dev)
      return fr_fail(FR_E_INVALID, "%s: binding %u (%s): buffer %d belongs to another device", k->name, i,
                     k->binding_names[i], b->buffer);
    if (b->offset > (uint64_t)buf->size)
      return fr_fail(FR_E_INVALID, "%s: binding %u (%s): offset %llu is past the end of buffer %d (%lld bytes)",
                     k->name, i, k->binding_names[i], (unsigned long long)b->offset, b->buffer,
                     (long long)buf->size);
    out->bufs[i] = buf;
    out->views[i] = (fr_view){buf->data + b->offset, (uint64_t)buf->size - b->offset, buf->map == NULL,
                              buf->map ? buf->map->fd : -1,
                              buf->map ? (int64_t)(buf->data + b->offset - buf->map->base) : 0};
  }
  return FR_OK;
}

int32_t fr_exec_op(fr_device *dev, const fr_bound_op *op) {
  int32_t rc = op->k->check(op->k, op->params, op->views);
  if (rc != FR_OK) return rc;
  return op->k->run(op->k, dev, op->params, op->views);
}

FR_EXPORT int32_t fr_dispatch(int32_t dev, const uint8_t *op, const uint8_t *params, int32_t params_size,
                              int32_t sync) {
  (void)sync; /* the CPU executor is always synchronous */
  if (!op) return fr_fail(FR_E_INVALID, "fr_dispatch: op is NULL");
  if (params_size < 0 || params_size > 256 || (params_size > 0 && !params))
    return fr_fail(FR_E_INVALID, "fr_dispatch: bad params (%d bytes)", params_size);
  fr_op rec;
  memcpy(&rec, op, sizeof rec);
  /* ffi may hand over unaligned bytes; ops read params as structs */
  uint32_t aligned[64];
  if (params_size) memcpy(aligned, params, (size_t)params_size);
  if (rec.params_size != (uint32_t)params_size)
    return fr_fail(FR_E_INVALID, "fr_dispatch: op says %u bytes of params, %d given", rec.params_size, params_size);

  fr_api_lock();
  int32_t rc = FR_E_INVALID;
  fr_device *d = fr_device_get(dev);
  fr_bound_op b;
  if (d && (rc = fr_bind_op(d, &rec, &b)) == FR_OK) {
    b.params = aligned;
    rc = fr_exec_op(d, &b);
  }
  fr_api_unlock();
  return rc;
}

FR_EXPORT int32_t fr_sync(int32_t dev) {
  fr_api_lock();
  fr_device *d = fr_device_get(dev);
  fr_api_unlock();
  return d ? FR_OK : FR_E_INVALID;
}
