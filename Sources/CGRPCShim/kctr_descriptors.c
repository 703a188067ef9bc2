// protobuf-c side of the shim: where kctr finds the generated descriptors.
#include "kctr_shim.h"

#include <string.h>

// The generated CRI header has fields named `linux`, which GNU C predefines.
#undef linux

#include "containerd/events/container.pb-c.h"
#include "containerd/events/content.pb-c.h"
#include "containerd/events/image.pb-c.h"
#include "containerd/events/namespace.pb-c.h"
#include "containerd/events/snapshot.pb-c.h"
#include "containerd/events/task.pb-c.h"
#include "containerd/services/containers/v1/containers.pb-c.h"
#include "containerd/services/content/v1/content.pb-c.h"
#include "containerd/services/diff/v1/diff.pb-c.h"
#include "containerd/services/events/v1/events.pb-c.h"
#include "containerd/services/images/v1/images.pb-c.h"
#include "containerd/services/introspection/v1/introspection.pb-c.h"
#include "containerd/services/leases/v1/leases.pb-c.h"
#include "containerd/services/namespaces/v1/namespaces.pb-c.h"
#include "containerd/services/snapshots/v1/snapshots.pb-c.h"
#include "containerd/services/tasks/v1/tasks.pb-c.h"
#include "containerd/services/version/v1/version.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "runtime/v1/api.pb-c.h"

static const ProtobufCServiceDescriptor *const kctr_services[] = {
    &containerd__services__containers__v1__containers__descriptor,
    &containerd__services__content__v1__content__descriptor,
    &containerd__services__diff__v1__diff__descriptor,
    &containerd__services__events__v1__events__descriptor,
    &containerd__services__images__v1__images__descriptor,
    &containerd__services__introspection__v1__introspection__descriptor,
    &containerd__services__leases__v1__leases__descriptor,
    &containerd__services__namespaces__v1__namespaces__descriptor,
    &containerd__services__snapshots__v1__snapshots__descriptor,
    &containerd__services__tasks__v1__tasks__descriptor,
    &containerd__services__version__v1__version__descriptor,
    &runtime__v1__image_service__descriptor,
    &runtime__v1__runtime_service__descriptor,
};

// Event payloads arrive as google.protobuf.Any; kctr decodes these.
static const ProtobufCMessageDescriptor *const kctr_messages[] = {
    &containerd__events__container_create__descriptor,
    &containerd__events__container_delete__descriptor,
    &containerd__events__container_update__descriptor,
    &containerd__events__content_delete__descriptor,
    &containerd__events__namespace_create__descriptor,
    &containerd__events__namespace_delete__descriptor,
    &containerd__events__namespace_update__descriptor,
    &containerd__events__snapshot_commit__descriptor,
    &containerd__events__snapshot_prepare__descriptor,
    &containerd__events__snapshot_remove__descriptor,
    &containerd__events__task_checkpointed__descriptor,
    &containerd__events__task_create__descriptor,
    &containerd__events__task_delete__descriptor,
    &containerd__events__task_exec_added__descriptor,
    &containerd__events__task_exec_started__descriptor,
    &containerd__events__task_exit__descriptor,
    &containerd__events__task_io__descriptor,
    &containerd__events__task_oom__descriptor,
    &containerd__events__task_paused__descriptor,
    &containerd__events__task_resumed__descriptor,
    &containerd__events__task_start__descriptor,
    &containerd__services__images__v1__image_create__descriptor,
    &containerd__services__images__v1__image_delete__descriptor,
    &containerd__services__images__v1__image_update__descriptor,
    &google__rpc__status__descriptor,
};

const ProtobufCServiceDescriptor *kctr_service_descriptor(const char *full_name) {
    if (full_name == NULL) return NULL;
    for (size_t i = 0; i < sizeof(kctr_services) / sizeof(kctr_services[0]); i++) {
        if (strcmp(kctr_services[i]->name, full_name) == 0) return kctr_services[i];
    }
    return NULL;
}

const ProtobufCMessageDescriptor *kctr_message_descriptor(const char *full_name) {
    if (full_name == NULL) return NULL;
    for (size_t i = 0; i < sizeof(kctr_messages) / sizeof(kctr_messages[0]); i++) {
        if (strcmp(kctr_messages[i]->name, full_name) == 0) return kctr_messages[i];
    }
    return NULL;
}

const ProtobufCServiceDescriptor *kctr_service_descriptor_at(size_t i) {
    return i < sizeof(kctr_services) / sizeof(kctr_services[0]) ? kctr_services[i] : NULL;
}

const ProtobufCMessageDescriptor *kctr_message_descriptor_at(size_t i) {
    return i < sizeof(kctr_messages) / sizeof(kctr_messages[0]) ? kctr_messages[i] : NULL;
}
