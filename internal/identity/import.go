package identity

import (
	"context"
	"fmt"
)

// ImportExtensions stores many users of one account with one initial
// password, hashed once: an operator's first import of a company's users,
// who then each get their own (SetPassword). Every user is checked before
// any is stored: an invalid one, a department, or a number or email given
// twice stores none. Storing stops at the first user the store refuses (a
// taken number or email is ErrConflict); it returns how many were stored.
func (d *Directory) ImportExtensions(ctx context.Context, accountID int64, users []Extension, password string) (int, error) {
	a, err := d.store.Account(ctx, accountID)
	if err != nil {
		return 0, fmt.Errorf("import extensions: %w", err)
	}
	numbers := make(map[string]bool, len(users))
	emails := make(map[string]bool, len(users))
	for i := range users {
		e := &users[i]
		if e.Department() || len(e.Members) > 0 {
			return 0, fmt.Errorf("%w: extension %s: an import holds users only", ErrInvalid, e.Number)
		}
		if err := e.Validate(a); err != nil {
			return 0, err
		}
		if numbers[e.Number] || emails[e.Email] {
			return 0, fmt.Errorf("%w: extension %s (%s) is given twice", ErrConflict, e.Number, e.Email)
		}
		numbers[e.Number], emails[e.Email] = true, true
	}
	hash, err := HashPassword(password)
	if err != nil {
		return 0, fmt.Errorf("import extensions: %w", err)
	}
	for i := range users {
		if err := d.store.CreateExtension(ctx, &users[i], hash); err != nil {
			return i, err
		}
	}
	return len(users), nil
}
