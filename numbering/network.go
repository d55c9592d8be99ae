package numbering

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// NetID is a network's index in a Registry. 0 means no network.
type NetID uint16

// netBits is how many bits of a cache slot hold the NetID: the other 50 hold
// the number (10^15-1 < 2^50), so a slot is one uint64 and is written and
// read atomically as a whole.
const (
	netBits = 14
	netMask = 1<<netBits - 1
	// netNegative is stored in the lookup cache for an answer that named no
	// network, so the number is not looked up again within cache_ttl.
	netNegative NetID = netMask
	// MaxNetworks is how many distinct MCC/MNC pairs a Registry holds (the
	// world has about 2,500).
	MaxNetworks = int(netNegative) - 1
)

// ErrTooManyNetworks is returned by Registry.Intern once MaxNetworks are held.
var ErrTooManyNetworks = errors.New("too many distinct networks")

// Network is a mobile network as routes name it.
type Network struct {
	MCCMNC string // MCC and MNC as written, "28202": what routes match on
	MCC    string // "282"
	MNC    string // "02" (2 or 3 digits, as written)
	Name   string // label from the range table; "" if only seen in lookups or ported rows
}

// netKey is MCC+MNC with its length, so "28201" and "282001" differ and a
// lookup needs no string concatenation.
type netKey [7]byte

func makeNetKey(mcc, mnc string) netKey {
	var k netKey
	k[0] = byte(len(mnc))
	copy(k[1:4], mcc)
	copy(k[4:], mnc)
	return k
}

// Registry interns networks: caches and range tables store a 2-byte NetID
// per entry instead of strings. Reads (Network) take no lock; Intern is
// serialised and publishes a new slice header, never mutating an element a
// reader can see.
type Registry struct {
	mu    sync.Mutex
	byKey map[netKey]NetID
	list  []Network // list[0] is the zero Network
	pub   atomic.Pointer[[]Network]
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	r := &Registry{byKey: make(map[netKey]NetID), list: make([]Network, 1, 64)}
	p := r.list[:1:1]
	r.pub.Store(&p)
	return r
}

// Intern returns the id of the network mcc+mnc, adding it if new. name is
// kept if the network had none yet. mcc must be 3 digits, mnc 2 or 3.
func (r *Registry) Intern(mcc, mnc, name string) (NetID, error) {
	if err := checkMCCMNC(mcc, mnc); err != nil {
		return 0, err
	}
	k := makeNetKey(mcc, mnc)
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.byKey[k]; ok {
		if name != "" && r.list[id].Name == "" {
			// Copy so readers holding the old slice never see a write.
			l := make([]Network, len(r.list), cap(r.list))
			copy(l, r.list)
			l[id].Name = strings.Clone(name) // not a slice of the caller's line
			r.list = l
			p := l[:len(l):len(l)]
			r.pub.Store(&p)
		}
		return id, nil
	}
	if len(r.list) > MaxNetworks {
		return 0, fmt.Errorf("network %s%s: %w (%d)", mcc, mnc, ErrTooManyNetworks, MaxNetworks)
	}
	id := NetID(len(r.list))
	mccmnc := mcc + mnc
	r.list = append(r.list, Network{MCCMNC: mccmnc, MCC: mccmnc[:3], MNC: mccmnc[3:], Name: strings.Clone(name)})
	r.byKey[k] = id
	// Readers get a header capped at the new length: a later append may
	// write past it in the same array, never inside it.
	p := r.list[:len(r.list):len(r.list)]
	r.pub.Store(&p)
	return id, nil
}

// Network returns the network with id, or the zero Network for 0 or an
// unknown id. It does not allocate.
func (r *Registry) Network(id NetID) Network {
	l := *r.pub.Load()
	if int(id) >= len(l) {
		return Network{}
	}
	return l[id]
}

// Lookup returns the id of mcc+mnc if it is interned.
func (r *Registry) Lookup(mcc, mnc string) (NetID, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.byKey[makeNetKey(mcc, mnc)]
	return id, ok
}

// Len returns how many networks are interned.
func (r *Registry) Len() int { return len(*r.pub.Load()) - 1 }

func checkMCCMNC(mcc, mnc string) error {
	if len(mcc) != 3 || !allDigits(mcc) {
		return fmt.Errorf("mcc %q: want 3 digits", mcc)
	}
	if len(mnc) < 2 || len(mnc) > 3 || !allDigits(mnc) {
		return fmt.Errorf("mnc %q: want 2 or 3 digits", mnc)
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
