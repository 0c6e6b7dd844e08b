/* Framing helpers for the `net` test guest (see net_proto.h). */
#include "net_proto.h"

#include "serial.h"
#include "string.h"

uint32_t csum_add(uint32_t sum, const uint8_t* data, uint32_t length)
{
    uint32_t i = 0;
    for (; i + 1 < length; i += 2) {
        sum += (uint32_t)((data[i] << 8) | data[i + 1]);
        if (sum & 0x80000000u)
            sum = (sum & 0xffff) + (sum >> 16);
    }
    if (i < length)
        sum += (uint32_t)(data[i] << 8);
    return sum;
}

uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

bool parse_ipv4(const char* text, uint32_t length, uint32_t* address)
{
    uint32_t result = 0, part = 0, parts = 0, digits = 0;
    for (uint32_t i = 0; i <= length; i++) {
        if (i == length || text[i] == '.') {
            if (digits == 0 || part > 255)
                return false;
            result = (result << 8) | part;
            parts++;
            part = 0;
            digits = 0;
        } else if (text[i] >= '0' && text[i] <= '9' && digits < 3) {
            part = part * 10 + (uint32_t)(text[i] - '0');
            digits++;
        } else {
            return false;
        }
    }
    if (parts != 4)
        return false;
    *address = result;
    return true;
}

void print_ipv4(uint32_t address)
{
    for (int shift = 24; shift >= 0; shift -= 8) {
        print_dec((address >> shift) & 0xff);
        if (shift)
            serial_putc('.');
    }
}

void print_mac(const uint8_t* mac)
{
    for (int i = 0; i < 6; i++) {
        if (i)
            serial_putc(':');
        print_hex8(mac[i]);
    }
}

static void build_eth(uint8_t* frame, const uint8_t* dst, const uint8_t* src, uint16_t type)
{
    memcpy(frame, dst, 6);
    memcpy(frame + 6, src, 6);
    put16(frame + 12, type);
}

uint32_t build_arp(uint8_t* frame, uint16_t op, const uint8_t* src_mac, uint32_t src_ip, const uint8_t* dst_mac,
                   uint32_t dst_ip)
{
    static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t zero[6] = {0};
    build_eth(frame, op == 1 ? broadcast : dst_mac, src_mac, ETHERTYPE_ARP);
    uint8_t* arp = frame + ETH_HLEN;
    put16(arp, 1);                  /* hardware type: Ethernet */
    put16(arp + 2, ETHERTYPE_IPV4); /* protocol type */
    arp[4] = 6;
    arp[5] = 4;
    put16(arp + 6, op);
    memcpy(arp + 8, src_mac, 6);
    put32(arp + 14, src_ip);
    memcpy(arp + 18, op == 1 ? zero : dst_mac, 6);
    put32(arp + 24, dst_ip);
    memset(frame + ARP_FRAME_LEN, 0, ETH_ZLEN - ARP_FRAME_LEN);
    return ETH_ZLEN;
}

void build_eth_ipv4(uint8_t* frame, const uint8_t* dst_mac, const uint8_t* src_mac, uint32_t src_ip, uint32_t dst_ip,
                    uint8_t proto, uint32_t payload, uint16_t ip_id)
{
    build_eth(frame, dst_mac, src_mac, ETHERTYPE_IPV4);
    uint8_t* ip = frame + ETH_HLEN;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(IPV4_HLEN + payload));
    put16(ip + 4, ip_id);
    put16(ip + 6, 0x4000);          /* DF, fragment offset 0 */
    ip[8] = 64;                     /* TTL */
    ip[9] = proto;
    put16(ip + 10, 0);
    put32(ip + 12, src_ip);
    put32(ip + 16, dst_ip);
    put16(ip + 10, csum_fold(csum_add(0, ip, IPV4_HLEN)));
}

uint32_t build_icmp_echo(uint8_t* frame, uint8_t type, const uint8_t* dst_mac, const uint8_t* src_mac, uint32_t src_ip,
                         uint32_t dst_ip, uint16_t id, uint16_t seq, const uint8_t* data, uint32_t data_length)
{
    build_eth_ipv4(frame, dst_mac, src_mac, src_ip, dst_ip, IP_PROTO_ICMP, ICMP_HLEN + data_length, seq);
    uint8_t* icmp = frame + ETH_HLEN + IPV4_HLEN;
    icmp[0] = type;
    icmp[1] = 0;
    put16(icmp + 2, 0);
    put16(icmp + 4, id);
    put16(icmp + 6, seq);
    memmove(icmp + ICMP_HLEN, data, data_length);
    put16(icmp + 2, csum_fold(csum_add(0, icmp, ICMP_HLEN + data_length)));
    return ETH_HLEN + IPV4_HLEN + ICMP_HLEN + data_length;
}

bool parse_frame(const uint8_t* frame, uint32_t length, struct rx_packet* packet)
{
    memset(packet, 0, sizeof *packet);
    if (length < ETH_HLEN)
        return false;
    packet->src_mac = frame + 6;
    packet->ethertype = get16(frame + 12);
    const uint8_t* body = frame + ETH_HLEN;
    uint32_t body_length = length - ETH_HLEN;
    if (packet->ethertype == ETHERTYPE_ARP) {
        if (body_length < 28 || get16(body) != 1 || get16(body + 2) != ETHERTYPE_IPV4 || body[4] != 6 || body[5] != 4)
            return false;
        packet->arp_op = get16(body + 6);
        packet->arp_sha = body + 8;
        packet->arp_spa = get32(body + 14);
        packet->arp_tpa = get32(body + 24);
        return true;
    }
    if (packet->ethertype == ETHERTYPE_IPV4) {
        if (body_length < IPV4_HLEN)
            return false;
        uint32_t ihl = (uint32_t)(body[0] & 15) * 4;
        uint32_t total = get16(body + 2);
        if ((body[0] >> 4) != 4 || ihl < IPV4_HLEN || total < ihl || total > body_length)
            return true;
        if (csum_fold(csum_add(0, body, ihl)) != 0)
            return true;
        packet->ip_src = get32(body + 12);
        packet->ip_dst = get32(body + 16);
        packet->ip_proto = body[9];
        packet->l4 = body + ihl;
        packet->l4_length = total - ihl;
        packet->ip_ok = true;
    }
    return true;
}
