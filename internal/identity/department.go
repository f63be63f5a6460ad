package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// SetMembers replaces the members of a department: users of its account,
// each given once. ErrInvalid when departmentID is not a department or a
// member is not a user of its account; ErrNotFound when it does not exist.
func (d *Directory) SetMembers(ctx context.Context, departmentID int64, members []int64) error {
	dept, err := d.store.Extension(ctx, departmentID)
	if err != nil {
		return fmt.Errorf("members of department %d: %w", departmentID, err)
	}
	if !dept.Department() {
		return fmt.Errorf("%w: extension %s is not a department", ErrInvalid, dept.Number)
	}
	checked, err := d.checkMembers(ctx, dept.AccountID, members)
	if err != nil {
		return fmt.Errorf("department %s: %w", dept.Number, err)
	}
	return d.store.SetDepartmentMembers(ctx, departmentID, checked)
}

// checkMembers checks that every id is a user of the account and returns
// them sorted, each once.
func (d *Directory) checkMembers(ctx context.Context, accountID int64, members []int64) ([]int64, error) {
	set := slices.Clone(members)
	slices.Sort(set)
	set = slices.Compact(set)
	if len(set) > MaxDepartmentMembers {
		return nil, fmt.Errorf("%w: at most %d members", ErrInvalid, MaxDepartmentMembers)
	}
	for _, id := range set {
		m, err := d.store.Extension(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: member %d: no such extension", ErrInvalid, id)
		}
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", id, err)
		}
		if m.AccountID != accountID {
			return nil, fmt.Errorf("%w: member %s is not of the department's account", ErrInvalid, m.Number)
		}
		if m.Department() {
			return nil, fmt.Errorf("%w: member %s is a department: members are users", ErrInvalid, m.Number)
		}
	}
	if len(set) == 0 {
		return nil, nil
	}
	return set, nil
}

// ExtensionIDs resolves extension numbers of an account ("101") to their
// ids, in the order given; ErrInvalid names a number that is not there.
func (d *Directory) ExtensionIDs(ctx context.Context, accountID int64, numbers []string) ([]int64, error) {
	ids := make([]int64, 0, len(numbers))
	for _, raw := range numbers {
		n := strings.TrimSpace(raw)
		e, err := d.store.ExtensionByNumber(ctx, accountID, n)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: no extension %q in account %d", ErrInvalid, n, accountID)
		}
		if err != nil {
			return nil, fmt.Errorf("extension %s of account %d: %w", n, accountID, err)
		}
		ids = append(ids, e.ID)
	}
	return ids, nil
}

// Members returns a department's member extensions, by id; a user has none.
// A member deleted meanwhile is left out.
func (d *Directory) Members(ctx context.Context, departmentID int64) ([]Extension, error) {
	dept, err := d.store.Extension(ctx, departmentID)
	if err != nil {
		return nil, fmt.Errorf("members of department %d: %w", departmentID, err)
	}
	var out []Extension
	for _, id := range dept.Members {
		m, err := d.store.Extension(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("member %d of department %s: %w", id, dept.Number, err)
		}
		out = append(out, m)
	}
	return out, nil
}
