// The virtio-net guest ABI (virtio-v1.2 §5.1.3 "Feature bits", §5.1.4 "Device configuration
// layout", §5.1.6 "Device Operation") from <linux/virtio_net.h>. That header is not valid C++:
// struct virtio_net_ctrl_hdr (the control queue, unused here) has a member named `class`, so it
// is included once, here, with that word renamed; include this instead of it.
#pragma once

#include <cstddef>

#include <linux/if_ether.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_types.h>

#define class class_
#include <linux/virtio_net.h>
#undef class

static_assert(sizeof(virtio_net_hdr_v1) == 12, "virtio-v1.2 §5.1.6: the VERSION_1 header is 12 bytes");
static_assert(offsetof(virtio_net_config, mtu) == 10, "virtio-v1.2 §5.1.4: mtu follows max_virtqueue_pairs");
