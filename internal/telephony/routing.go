package telephony

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/callbridge/widget-server/internal/phonenumber"
)

// route is where a dialled number goes.
type route struct {
	callee Endpoint
	owner  int64       // callee extension, 0 when none
	test   *TestNumber // the test line dialled, if any
	trunk  string      // the trunk an outside number goes to (trunk.go)
	dial   string      // the number the trunk sends
	code   int         // failure code when the number cannot be routed; 0 = routable
	reason string
	// department is set when owner is a department, whose members ring.
	department bool
	members    []int64
	greeting   bool // the caller records its voicemail greeting (GreetingNumber)
}

// Reasons of routing failures.
const (
	reasonNotFound    = "Not Found"
	reasonUnavailable = "Destination unavailable"
)

// route resolves what callerExt dialled: an extension of its account, a test
// number, a number of its account, or, with trunks, a number outside it
// (trunk.go). Only directory errors are errors.
func (s *Switch) route(ctx context.Context, callerExt int64, dialled string) (route, error) {
	region, err := s.dir.Region(ctx, callerExt)
	if err != nil {
		return route{}, fmt.Errorf("region of extension %d: %w", callerExt, err)
	}
	if strings.TrimSpace(dialled) == GreetingNumber {
		return route{callee: Endpoint{PhoneNumber: GreetingNumber, Name: greetingName}, greeting: true}, nil
	}
	if short, ok := phonenumber.Emergency(dialled, region); ok {
		return s.trunkRoute(short, region), nil // before any extension: 911 is never a colleague
	}
	n, err := phonenumber.Normalize(dialled, region)
	if err != nil {
		return route{callee: Endpoint{PhoneNumber: strings.TrimSpace(dialled)}, code: 404, reason: reasonNotFound}, nil
	}
	if strings.HasPrefix(n, "+") {
		if tn, ok := lookupTestNumber(n); ok {
			return route{callee: Endpoint{PhoneNumber: n, Name: tn.Name}, test: &tn}, nil
		}
	}
	ep, ok, err := s.dir.Lookup(ctx, callerExt, n)
	if err != nil {
		return route{}, fmt.Errorf("look up %s for extension %d: %w", n, callerExt, err)
	}
	if !ok && s.trunks != nil && strings.HasPrefix(n, "+") && !phonenumber.IsTest(n) {
		return s.trunkRoute(n, region), nil // a number outside the account
	}
	if !ok || ep.ExtensionID == 0 {
		return route{callee: Endpoint{PhoneNumber: n}, code: 480, reason: reasonUnavailable}, nil
	}
	if strings.HasPrefix(n, "+") {
		ep.PhoneNumber = n // the number dialled, not the extension's first one
	}
	rt := route{callee: ep, owner: ep.ExtensionID}
	if deps, ok := s.dir.(Departments); ok {
		if rt.members, rt.department, err = deps.Members(ctx, ep.ExtensionID); err != nil {
			return route{}, fmt.Errorf("members of extension %d: %w", ep.ExtensionID, err)
		}
	}
	return rt, nil
}

// ringTarget is one extension that a call rings and its devices.
type ringTarget struct {
	owner   int64
	devices []string
}

// ringTargetsLocked lists what a call along rt rings, but the dialling
// device: the callee extension's devices, or for a department those of each
// member that takes department calls, but the caller. When nothing rings,
// fail says how the call ends.
func (s *Switch) ringTargetsLocked(rt route, caller int64, except string) (targets []ringTarget, fail ending) {
	noDevice := ending{code: 480, reason: reasonNoDevice, caller: ResultFailed, callee: ResultMissed}
	if !rt.department {
		if !s.takesDirectLocked(rt.owner) {
			return nil, dndEnding
		}
		devices := s.ringDevicesLocked(rt.owner, except)
		if len(devices) == 0 {
			return nil, noDevice
		}
		return []ringTarget{{rt.owner, devices}}, ending{}
	}
	fail = dndEnding
	for _, m := range rt.members {
		if m == caller || !s.takesDepartmentLocked(m) || slices.ContainsFunc(targets, func(t ringTarget) bool { return t.owner == m }) {
			continue
		}
		fail = noDevice // someone takes the call, but has no device
		if devices := s.ringDevicesLocked(m, except); len(devices) > 0 {
			targets = append(targets, ringTarget{m, devices})
		}
	}
	if len(targets) > 0 {
		return targets, ending{}
	}
	return nil, fail
}
