// gRPC core side of the shim: channel, completion queue and call batches.
#define _DEFAULT_SOURCE
#define _POSIX_C_SOURCE 200809L
#include "kctr_shim.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct kctr_channel {
    grpc_channel *channel;
    grpc_completion_queue *cq;
};

static pthread_once_t kctr_init_once = PTHREAD_ONCE_INIT;
static void kctr_do_init(void) { grpc_init(); }

void kctr_grpc_init(void) { pthread_once(&kctr_init_once, kctr_do_init); }

kctr_channel *kctr_channel_create(const char *target, int max_receive_bytes, int max_send_bytes) {
    kctr_grpc_init();
    kctr_channel *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;

    grpc_arg args[8];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = max_receive_bytes;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[1].value.integer = max_send_bytes;
    // containerd checks no authority; a fixed one keeps the socket path out of headers.
    args[2].type = GRPC_ARG_STRING;
    args[2].key = GRPC_ARG_DEFAULT_AUTHORITY;
    args[2].value.string = "localhost";
    // A local daemon: reconnect quickly instead of backing off for a second.
    args[3].type = GRPC_ARG_INTEGER;
    args[3].key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
    args[3].value.integer = 100;
    args[4].type = GRPC_ARG_INTEGER;
    args[4].key = GRPC_ARG_ENABLE_RETRIES;
    args[4].value.integer = 0;
    // A fixed 1 MiB receive window per stream (one of containerd's 1 MiB content messages in
    // flight): BDP probing grew it with the reader's lag, and a blob stream then held tens of MiB
    // in transport buffers. 4 MiB still cost export ~3 MiB of peak RSS, 1 MiB no measured speed.
    args[5].type = GRPC_ARG_INTEGER;
    args[5].key = GRPC_ARG_HTTP2_BDP_PROBE;
    args[5].value.integer = 0;
    args[6].type = GRPC_ARG_INTEGER;
    args[6].key = GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES;
    args[6].value.integer = 1024 * 1024;
    // Keep trying at least once a second, so that a restarted daemon is
    // found again within a short --timeout (the failed-import cleanup waits for it).
    args[7].type = GRPC_ARG_INTEGER;
    args[7].key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
    args[7].value.integer = 1000;
    grpc_channel_args channel_args = {.num_args = 8, .args = args};

    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    if (creds == NULL) {
        free(c);
        return NULL;
    }
    c->channel = grpc_channel_create(target, creds, &channel_args);
    grpc_channel_credentials_release(creds);
    if (c->channel == NULL) {
        free(c);
        return NULL;
    }
    c->cq = grpc_completion_queue_create_for_next(NULL);
    if (c->cq == NULL) {
        grpc_channel_destroy(c->channel);
        free(c);
        return NULL;
    }
    return c;
}

int kctr_channel_next(kctr_channel *channel, void **tag, int *success) {
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(channel->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        switch (ev.type) {
        case GRPC_OP_COMPLETE:
            *tag = ev.tag;
            *success = ev.success;
            return 1;
        case GRPC_QUEUE_SHUTDOWN:
            return 0;
        case GRPC_QUEUE_TIMEOUT:
            continue;
        }
    }
}

void kctr_channel_shutdown(kctr_channel *channel) {
    if (channel->channel != NULL) {
        grpc_channel_destroy(channel->channel);
        channel->channel = NULL;
    }
    grpc_completion_queue_shutdown(channel->cq);
}

void kctr_channel_free(kctr_channel *channel) {
    if (channel == NULL) return;
    if (channel->channel != NULL) grpc_channel_destroy(channel->channel);
    if (channel->cq != NULL) grpc_completion_queue_destroy(channel->cq);
    free(channel);
}

// ------------------------------------------------------------------- call

struct kctr_call {
    grpc_call *call;

    // request metadata, sent with the first send batch
    grpc_metadata *md;
    size_t md_count;
    int sent_metadata;
    int received_metadata;

    // send side
    grpc_byte_buffer *send_buffer;
    grpc_op send_ops[3];

    // receive side
    grpc_metadata_array initial_md;
    grpc_byte_buffer *recv_buffer;
    uint8_t *message;
    size_t message_len;
    size_t message_cap;
    int has_message;
    grpc_op recv_ops[2];

    // status
    grpc_metadata_array trailing_md;
    grpc_status_code status;
    grpc_slice status_details;
    const char *error_string;
    char *details_copy;
    grpc_op status_ops[1];

    // unary
    grpc_op unary_ops[6];
};

kctr_call *kctr_call_create(kctr_channel *channel, const char *method, int64_t timeout_ms,
                            const char *const *md_keys, const char *const *md_values, size_t md_count) {
    if (channel == NULL || channel->channel == NULL) return NULL;
    kctr_call *c = calloc(1, sizeof(*c));
    if (c == NULL) return NULL;
    grpc_metadata_array_init(&c->initial_md);
    grpc_metadata_array_init(&c->trailing_md);
    c->status_details = grpc_empty_slice();
    c->status = GRPC_STATUS_UNKNOWN;

    if (md_count > 0) {
        c->md = calloc(md_count, sizeof(grpc_metadata));
        if (c->md == NULL) {
            kctr_call_free(c);
            return NULL;
        }
        for (size_t i = 0; i < md_count; i++) {
            c->md[i].key = grpc_slice_from_copied_string(md_keys[i]);
            c->md[i].value = grpc_slice_from_copied_string(md_values[i]);
        }
        c->md_count = md_count;
    }

    gpr_timespec deadline = gpr_inf_future(GPR_CLOCK_REALTIME);
    if (timeout_ms > 0) {
        deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    }
    grpc_slice method_slice = grpc_slice_from_copied_string(method);
    c->call = grpc_channel_create_call(channel->channel, NULL, GRPC_PROPAGATE_DEFAULTS, channel->cq, method_slice,
                                       NULL, deadline, NULL);
    grpc_slice_unref(method_slice);
    if (c->call == NULL) {
        kctr_call_free(c);
        return NULL;
    }
    return c;
}

void kctr_call_free(kctr_call *c) {
    if (c == NULL) return;
    if (c->call != NULL) grpc_call_unref(c->call);
    for (size_t i = 0; i < c->md_count; i++) {
        grpc_slice_unref(c->md[i].key);
        grpc_slice_unref(c->md[i].value);
    }
    free(c->md);
    if (c->send_buffer != NULL) grpc_byte_buffer_destroy(c->send_buffer);
    if (c->recv_buffer != NULL) grpc_byte_buffer_destroy(c->recv_buffer);
    grpc_metadata_array_destroy(&c->initial_md);
    grpc_metadata_array_destroy(&c->trailing_md);
    grpc_slice_unref(c->status_details);
    if (c->error_string != NULL) gpr_free((void *)c->error_string);
    free(c->details_copy);
    free(c->message);
    free(c);
}

void kctr_call_cancel(kctr_call *c) {
    if (c != NULL && c->call != NULL) grpc_call_cancel(c->call, NULL);
}

static grpc_byte_buffer *kctr_buffer_from(const uint8_t *data, size_t len) {
    grpc_slice slice = grpc_slice_from_copied_buffer((const char *)data, len);
    grpc_byte_buffer *buf = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return buf;
}

static void kctr_op_send_metadata(kctr_call *c, grpc_op *op) {
    memset(op, 0, sizeof(*op));
    op->op = GRPC_OP_SEND_INITIAL_METADATA;
    op->data.send_initial_metadata.count = c->md_count;
    op->data.send_initial_metadata.metadata = c->md;
    c->sent_metadata = 1;
}

static void kctr_op_recv_metadata(kctr_call *c, grpc_op *op) {
    memset(op, 0, sizeof(*op));
    op->op = GRPC_OP_RECV_INITIAL_METADATA;
    op->data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
    c->received_metadata = 1;
}

static void kctr_op_recv_message(kctr_call *c, grpc_op *op) {
    memset(op, 0, sizeof(*op));
    if (c->recv_buffer != NULL) {
        grpc_byte_buffer_destroy(c->recv_buffer);
        c->recv_buffer = NULL;
    }
    c->has_message = 0;
    c->message_len = 0;
    op->op = GRPC_OP_RECV_MESSAGE;
    op->data.recv_message.recv_message = &c->recv_buffer;
}

static void kctr_op_recv_status(kctr_call *c, grpc_op *op) {
    memset(op, 0, sizeof(*op));
    op->op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op->data.recv_status_on_client.trailing_metadata = &c->trailing_md;
    op->data.recv_status_on_client.status = &c->status;
    op->data.recv_status_on_client.status_details = &c->status_details;
    op->data.recv_status_on_client.error_string = &c->error_string;
}

int kctr_call_start_unary(kctr_call *c, const uint8_t *data, size_t len, void *tag) {
    if (c->send_buffer != NULL) grpc_byte_buffer_destroy(c->send_buffer);
    c->send_buffer = kctr_buffer_from(data, len);
    if (c->send_buffer == NULL) return GRPC_CALL_ERROR;
    grpc_op *ops = c->unary_ops;
    kctr_op_send_metadata(c, &ops[0]);
    memset(&ops[1], 0, sizeof(grpc_op));
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->send_buffer;
    memset(&ops[2], 0, sizeof(grpc_op));
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    kctr_op_recv_metadata(c, &ops[3]);
    kctr_op_recv_message(c, &ops[4]);
    kctr_op_recv_status(c, &ops[5]);
    return grpc_call_start_batch(c->call, ops, 6, tag, NULL);
}

int kctr_call_start_send(kctr_call *c, const uint8_t *data, size_t len, int close, void *tag) {
    if (c->send_buffer != NULL) {
        grpc_byte_buffer_destroy(c->send_buffer);
        c->send_buffer = NULL;
    }
    c->send_buffer = kctr_buffer_from(data, len);
    if (c->send_buffer == NULL) return GRPC_CALL_ERROR;
    size_t n = 0;
    if (!c->sent_metadata) kctr_op_send_metadata(c, &c->send_ops[n++]);
    memset(&c->send_ops[n], 0, sizeof(grpc_op));
    c->send_ops[n].op = GRPC_OP_SEND_MESSAGE;
    c->send_ops[n].data.send_message.send_message = c->send_buffer;
    n++;
    if (close) {
        memset(&c->send_ops[n], 0, sizeof(grpc_op));
        c->send_ops[n].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
        n++;
    }
    return grpc_call_start_batch(c->call, c->send_ops, n, tag, NULL);
}

int kctr_call_start_close(kctr_call *c, void *tag) {
    size_t n = 0;
    if (!c->sent_metadata) kctr_op_send_metadata(c, &c->send_ops[n++]);
    memset(&c->send_ops[n], 0, sizeof(grpc_op));
    c->send_ops[n].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    n++;
    return grpc_call_start_batch(c->call, c->send_ops, n, tag, NULL);
}

int kctr_call_start_receive(kctr_call *c, void *tag) {
    size_t n = 0;
    if (!c->received_metadata) kctr_op_recv_metadata(c, &c->recv_ops[n++]);
    kctr_op_recv_message(c, &c->recv_ops[n++]);
    return grpc_call_start_batch(c->call, c->recv_ops, n, tag, NULL);
}

int kctr_call_start_status(kctr_call *c, void *tag) {
    kctr_op_recv_status(c, &c->status_ops[0]);
    return grpc_call_start_batch(c->call, c->status_ops, 1, tag, NULL);
}

// Flattens the received byte buffer into one contiguous, reused block.
static int kctr_flatten(kctr_call *c) {
    if (c->recv_buffer == NULL) return 0;
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, c->recv_buffer)) return 0;
    size_t total = grpc_byte_buffer_length(c->recv_buffer);
    if (total > c->message_cap || c->message == NULL) {
        size_t cap = total > 0 ? total : 1;
        uint8_t *grown = realloc(c->message, cap);
        if (grown == NULL) {
            grpc_byte_buffer_reader_destroy(&reader);
            return 0;
        }
        c->message = grown;
        c->message_cap = cap;
    }
    size_t at = 0;
    grpc_slice slice;
    while (grpc_byte_buffer_reader_next(&reader, &slice)) {
        size_t n = GRPC_SLICE_LENGTH(slice);
        if (at + n <= c->message_cap) memcpy(c->message + at, GRPC_SLICE_START_PTR(slice), n);
        at += n;
        grpc_slice_unref(slice);
    }
    grpc_byte_buffer_reader_destroy(&reader);
    grpc_byte_buffer_destroy(c->recv_buffer);
    c->recv_buffer = NULL;
    if (at != total) return 0;
    c->message_len = total;
    c->has_message = 1;
    return 1;
}

int kctr_call_has_message(kctr_call *c) {
    // Flattened lazily, on the thread that reads the message.
    if (c->recv_buffer != NULL) kctr_flatten(c);
    return c->has_message;
}

const uint8_t *kctr_call_message_bytes(const kctr_call *c) { return c->message; }
size_t kctr_call_message_length(const kctr_call *c) { return c->message_len; }

int kctr_call_status_code(const kctr_call *c) { return (int)c->status; }

const char *kctr_call_status_details(kctr_call *c) {
    if (c->details_copy == NULL) {
        char *s = grpc_slice_to_c_string(c->status_details);
        if (s == NULL) return "";
        c->details_copy = strdup(s);
        gpr_free(s);
        if (c->details_copy == NULL) return "";
    }
    return c->details_copy;
}

const char *kctr_call_error_string(const kctr_call *c) { return c->error_string != NULL ? c->error_string : ""; }

#include <malloc.h>

int kctr_tune_malloc(void) {
    // Transfer buffers (1 MiB chunks, the transport's 128 KiB+ slices) come from mmap and go
    // back at free; two arenas instead of one per thread. Returns 1 when both settings were taken.
    int a = mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    int b = mallopt(M_ARENA_MAX, 2);
    return a == 1 && b == 1;
}
