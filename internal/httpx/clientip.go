package httpx

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies is the set of reverse proxies whose X-Forwarded-For header is believed
// (config.Config.TrustedProxies, which parses STARLING_TRUSTED_PROXIES).
type Proxies []netip.Prefix

func (ps Proxies) trusted(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client that sent r: the peer address, or, when the
// peer is a trusted proxy, the right-most address of X-Forwarded-For that is not itself a
// trusted proxy. A header from an untrusted peer is ignored, so clients cannot pick their
// own address.
func (ps Proxies) ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !ps.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return host
		}
		if !ps.trusted(a) {
			return a.Unmap().String()
		}
	}
	return host
}
