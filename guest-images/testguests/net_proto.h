/* Ethernet, ARP, IPv4, ICMP, UDP and TCP framing for the `net` test guest: just enough to ARP,
   ping, answer pings and stream (RFC 826 ARP; RFC 791 IPv4; RFC 792 ICMP echo; RFC 768 UDP;
   RFC 793 TCP header; RFC 1071 Internet checksum). Multi-byte fields are big-endian on the wire:
   put16/get16 and friends write and read them byte by byte. */
#ifndef TESTGUEST_NET_PROTO_H
#define TESTGUEST_NET_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#define ETH_HLEN 14
#define ETH_ZLEN 60                 /* minimum frame without FCS: shorter ones are padded */
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define IPV4_HLEN 20
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define ICMP_HLEN 8
#define UDP_HLEN 8
#define TCP_HLEN 20
#define ARP_FRAME_LEN 42            /* before padding */

static inline void put16(uint8_t* p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put32(uint8_t* p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint16_t get16(const uint8_t* p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t get32(const uint8_t* p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* RFC 1071: ones' complement sum of 16-bit big-endian words (odd tail padded with a zero byte),
   not folded or inverted; add sums, then finish with csum_fold. */
uint32_t csum_add(uint32_t sum, const uint8_t* data, uint32_t length);
uint16_t csum_fold(uint32_t sum);   /* folded and inverted: the value to store */

/* "a.b.c.d" -> host-order address; false if malformed. */
bool parse_ipv4(const char* text, uint32_t length, uint32_t* address);
void print_ipv4(uint32_t address);
void print_mac(const uint8_t* mac);

/* Builders write into `frame` and return the frame length. */
uint32_t build_arp(uint8_t* frame, uint16_t op, const uint8_t* src_mac, uint32_t src_ip, const uint8_t* dst_mac,
                   uint32_t dst_ip);
/* Ethernet + IPv4 header (header checksum filled in) for `payload` bytes of protocol `proto`. */
void build_eth_ipv4(uint8_t* frame, const uint8_t* dst_mac, const uint8_t* src_mac, uint32_t src_ip, uint32_t dst_ip,
                    uint8_t proto, uint32_t payload, uint16_t ip_id);
/* An ICMP echo request/reply with `data` (checksums filled in); returns the frame length. */
uint32_t build_icmp_echo(uint8_t* frame, uint8_t type, const uint8_t* dst_mac, const uint8_t* src_mac, uint32_t src_ip,
                         uint32_t dst_ip, uint16_t id, uint16_t seq, const uint8_t* data, uint32_t data_length);

/* A parsed received frame (pointers into it). */
struct rx_packet {
    uint16_t ethertype;
    const uint8_t* src_mac;
    /* ARP */
    uint16_t arp_op;
    const uint8_t* arp_sha;
    uint32_t arp_spa, arp_tpa;
    /* IPv4 (valid header checksum and lengths only) */
    uint32_t ip_src, ip_dst;
    uint8_t ip_proto;
    const uint8_t* l4;              /* after the IPv4 header */
    uint32_t l4_length;             /* from the IPv4 total length */
    bool ip_ok;
};

/* Fills *packet; false for frames too short for their headers. ip_ok says the IPv4 header is
   sound (version 4, IHL >= 5, total length within the frame, header checksum right). */
bool parse_frame(const uint8_t* frame, uint32_t length, struct rx_packet* packet);

#endif
