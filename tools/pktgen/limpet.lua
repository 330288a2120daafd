-- SPDX-License-Identifier: BSD-3-Clause
--
-- pktgen-dpdk script: limpet-gen's stateless scenarios for pktgen, so the
-- same load can come from a hardware generator port (see README.md).
--
--   pktgen -l 0-2 -a 0000:3b:00.0 -- -P -m "[1:2].0" -f tools/pktgen/limpet.lua
--
-- Settings come from the environment (defaults in brackets):
--   LP_SCENARIO   est | range   [est]
--     est:   CLIENTS x FLOWS UDP flows, the same 5-tuples over and over: after
--            the first pass every packet is an established-flow hit in limpet
--            (UDP creates a flow on its first datagram; pktgen cannot play a
--            TCP handshake, and a TCP ACK of an unknown flow is forwarded
--            without a flow entry)
--     range: source address and port both advance every packet over a wide
--            range (65536 addresses x 1000 ports): mostly new flows
--   LP_PROTO      udp | tcp      [udp]   (tcp: ACK segments, stateless in limpet)
--   LP_VIP        [10.0.0.100]   LP_VPORT [80]
--   LP_CLIENT     first client address [172.16.0.1]
--   LP_CLIENTS    [1000]         LP_FLOWS [1001] source ports per client
--   LP_SPORT      first source port [10000]
--   LP_DST_MAC    limpet's MAC on the port [02:00:00:00:00:01]
--   LP_SIZE       frame size [64]  LP_RATE percent of line rate [100]
--   LP_SECONDS    [10]           LP_PORT [0]
--
-- Output: "name value unit" lines like limpet-gen's (pktgen_tx_mpps,
-- pktgen_rx_mpps, pktgen_loss_pct), read from the port counters.

package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local function env(name, default)
	local v = os.getenv(name)
	if v == nil or v == "" then
		return default
	end
	return v
end

local scenario = env("LP_SCENARIO", "est")
local proto = env("LP_PROTO", "udp")
local port = env("LP_PORT", "0")
local vip = env("LP_VIP", "10.0.0.100")
local vport = tonumber(env("LP_VPORT", "80"))
local client = env("LP_CLIENT", "172.16.0.1")
local clients = tonumber(env("LP_CLIENTS", "1000"))
local flows = tonumber(env("LP_FLOWS", "1001"))
local sport = tonumber(env("LP_SPORT", "10000"))
local dst_mac = env("LP_DST_MAC", "02:00:00:00:00:01")
local size = tonumber(env("LP_SIZE", "64"))
local rate = tonumber(env("LP_RATE", "100"))
local seconds = tonumber(env("LP_SECONDS", "10"))

-- a.b.c.d + n, as a dotted quad
local function ip_add(ip, n)
	local a, b, c, d = ip:match("(%d+)%.(%d+)%.(%d+)%.(%d+)")
	local v = ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d) + n
	return string.format("%d.%d.%d.%d", math.floor(v / 16777216) % 256, math.floor(v / 65536) % 256,
		math.floor(v / 256) % 256, v % 256)
end

if scenario == "range" then
	clients = 65536
	flows = 1000
end

pktgen.stop(port)
pktgen.clr()
pktgen.set_proto(port, proto)
pktgen.set(port, "size", size)
pktgen.set(port, "rate", rate)
pktgen.set(port, "count", 0)
pktgen.range.dst_mac(port, "start", dst_mac)
pktgen.range.pkt_size(port, "start", size)
pktgen.range.pkt_size(port, "inc", 0)
pktgen.range.pkt_size(port, "min", size)
pktgen.range.pkt_size(port, "max", size)

-- Destination: the VIP and its port, fixed.
pktgen.range.dst_ip(port, "start", vip)
pktgen.range.dst_ip(port, "inc", "0.0.0.0")
pktgen.range.dst_ip(port, "min", vip)
pktgen.range.dst_ip(port, "max", vip)
pktgen.range.dst_port(port, "start", vport)
pktgen.range.dst_port(port, "inc", 0)
pktgen.range.dst_port(port, "min", vport)
pktgen.range.dst_port(port, "max", vport)

-- Sources: both the address and the port advance with every packet and wrap
-- at their own maximum, so the packets cycle through clients x flows
-- 5-tuples when the two counts are coprime (as 1000 and 1001 are); pick
-- them so, or the cycle is shorter (their least common multiple).
pktgen.range.src_ip(port, "start", client)
pktgen.range.src_ip(port, "inc", "0.0.0.1")
pktgen.range.src_ip(port, "min", client)
pktgen.range.src_ip(port, "max", ip_add(client, clients - 1))
pktgen.range.src_port(port, "start", sport)
pktgen.range.src_port(port, "inc", 1)
pktgen.range.src_port(port, "min", sport)
pktgen.range.src_port(port, "max", sport + flows - 1)
pktgen.set_range(port, "on")

printf("# pktgen: scenario %s, %s, %d clients x %d ports to %s:%d, %d-byte frames at %d%%\n",
	scenario, proto, clients, flows, vip, vport, size, rate)
pktgen.start(port)
pktgen.delay(seconds * 1000)
pktgen.stop(port)
pktgen.delay(500)

local st = pktgen.portStats(port, "port")[tonumber(port)]
local tx, rx = st.opackets, st.ipackets
printf("pktgen_tx_pkts %d packets\n", tx)
printf("pktgen_rx_pkts %d packets\n", rx)
printf("pktgen_tx_mpps %.3f Mpps\n", tx / seconds / 1e6)
printf("pktgen_rx_mpps %.3f Mpps\n", rx / seconds / 1e6)
if tx > 0 then
	printf("pktgen_loss_pct %.4f %%\n", 100 * (tx - rx) / tx)
end
