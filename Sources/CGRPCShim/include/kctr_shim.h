// kctr's C boundary: a thin layer over the gRPC C core and protobuf-c.
//
// Only the KctrRPC Swift target imports this module. Everything here is
// plain C so that Swift never touches gRPC's unions, macros or slices:
// each call's batch storage lives in one heap object (kctr_call) that
// outlives every batch started on it, which is what grpc_call_start_batch
// requires.
#ifndef KCTR_SHIM_H
#define KCTR_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- channel

typedef struct kctr_channel kctr_channel;

/// Calls grpc_init() once per process (idempotent).
void kctr_grpc_init(void);

/// A channel to `target` (e.g. "unix:///run/containerd/containerd.sock")
/// with its own completion queue. Returns NULL on failure.
kctr_channel *kctr_channel_create(const char *target, int max_receive_bytes, int max_send_bytes);

/// Blocks until the next completion. Returns 1 with *tag/*success set for a
/// finished batch, 0 once the queue has been shut down and drained.
int kctr_channel_next(kctr_channel *channel, void **tag, int *success);

/// Destroys the channel and shuts its queue down; kctr_channel_next then
/// returns 0 after the remaining completions. Call kctr_channel_free after.
void kctr_channel_shutdown(kctr_channel *channel);
void kctr_channel_free(kctr_channel *channel);

// ------------------------------------------------------------------- call

typedef struct kctr_call kctr_call;

/// A call on `method` ("/pkg.Service/Method") with a deadline `timeout_ms`
/// from now (<= 0: none) and the given request metadata (keys lower-case).
kctr_call *kctr_call_create(kctr_channel *channel, const char *method, int64_t timeout_ms,
                            const char *const *md_keys, const char *const *md_values, size_t md_count);
void kctr_call_free(kctr_call *call);

/// Cancels the call; pending batches complete with success = 0.
void kctr_call_cancel(kctr_call *call);

/// Every start function returns a grpc_call_error (0 = GRPC_CALL_OK). The
/// batch completes on the channel's queue with `tag`.

/// Unary: send metadata + message + close, receive metadata + message + status.
int kctr_call_start_unary(kctr_call *call, const uint8_t *data, size_t len, void *tag);

/// Streaming, send side: the first send also sends the initial metadata.
/// `close` != 0 half-closes after the message. At most one send batch at a time.
int kctr_call_start_send(kctr_call *call, const uint8_t *data, size_t len, int close, void *tag);
/// Half-close without a message (sends the initial metadata if not yet sent).
int kctr_call_start_close(kctr_call *call, void *tag);

/// Streaming, receive side: the first receive also receives the initial
/// metadata. At most one receive batch at a time.
int kctr_call_start_receive(kctr_call *call, void *tag);
/// Receives the final status. Start it once, after the last message.
int kctr_call_start_status(kctr_call *call, void *tag);

/// After a receive (or unary) batch: 1 if a message arrived, 0 if the
/// stream ended. The bytes stay valid until the next receive or free.
int kctr_call_has_message(kctr_call *call);
const uint8_t *kctr_call_message_bytes(const kctr_call *call);
size_t kctr_call_message_length(const kctr_call *call);

/// After the status (or unary) batch: the grpc_status_code, its details
/// and the core's debug error string ("" when none). Strings are owned by
/// the call.
int kctr_call_status_code(const kctr_call *call);
const char *kctr_call_status_details(kctr_call *call);
const char *kctr_call_error_string(const kctr_call *call);

/// Tunes glibc malloc for bulk transfers (see kctr_grpc.c). 1 on success.
int kctr_tune_malloc(void);

// ------------------------------------------------------------ protobuf-c

/// The service descriptors of every service kctr speaks, by full name
/// ("containerd.services.images.v1.Images"). NULL when unknown.
const ProtobufCServiceDescriptor *kctr_service_descriptor(const char *full_name);

/// Message descriptors that no service reaches (event payloads sent as
/// google.protobuf.Any), by full name. NULL when unknown.
const ProtobufCMessageDescriptor *kctr_message_descriptor(const char *full_name);

/// The i-th of the services / of the messages above (for the fuzz target and
/// tests that go over them all); NULL when i is past the last.
const ProtobufCServiceDescriptor *kctr_service_descriptor_at(size_t i);
const ProtobufCMessageDescriptor *kctr_message_descriptor_at(size_t i);

// ------------------------------------------------------------ build info

/// The commit this binary was built from (`git describe`), linked in by
/// scripts/release/dist.py as an object of its own; NULL in builds that did not.
const char *kctr_build_commit(void);

#ifdef __cplusplus
}
#endif

#endif
