package identity

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/callbridge/widget-server/internal/phonenumber"
)

// Sentinel errors of accounts and sign-in, alongside ErrNotFound and ErrInvalid.
var (
	// ErrBadCredentials is the only answer to a failed sign-in, whatever the
	// cause, so that it does not tell which users exist.
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrConflict reports a duplicate: an email, an extension number in its
	// account, or a main number already taken.
	ErrConflict = errors.New("already exists")
)

// Role is what an extension may do in its account.
type Role string

// Roles of an extension.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// ExtensionType says what an extension is, spelled as the platform API
// reports it.
type ExtensionType string

// Extension types. A user signs in to the widget; a department does not:
// its calls ring its members and its pager messages reach them (seeds/001).
const (
	TypeUser       ExtensionType = "User"
	TypeDepartment ExtensionType = "Department"
)

// MaxDepartmentMembers bounds the members of one department.
const MaxDepartmentMembers = 100

// Extension statuses, spelled as the platform API reports them.
const (
	StatusEnabled  = "Enabled"
	StatusDisabled = "Disabled"
)

// Account is one company on the phone system: a main number and the
// extensions behind it.
type Account struct {
	ID          int64
	Company     string
	MainNumber  string // E.164, e.g. "+16505550100"
	CountryCode string // ISO 3166 alpha-2, e.g. "US"
	AreaCode    string // e.g. "650"
}

// Extension is one user of an account, what signs in to the widget and what
// calls ring, or one department of it, whose members its calls ring.
type Extension struct {
	ID            int64
	AccountID     int64
	Number        string // "101": digits, 2-8 long, unique per account
	Name          string
	Email         string // lower-cased, unique across all accounts
	Role          Role
	DirectNumbers []string // E.164
	Status        string   // StatusEnabled or StatusDisabled
	Type          ExtensionType
	// Members are a department's member extensions (users of its account),
	// ascending ids; nil for a user.
	Members []int64
}

// Department reports whether the extension is a department.
func (e Extension) Department() bool { return e.Type == TypeDepartment }

// Admin reports whether the extension administers its account.
func (e Extension) Admin() bool { return e.Role == RoleAdmin }

// Enabled reports whether the extension may sign in.
func (e Extension) Enabled() bool { return e.Status == StatusEnabled }

// LoginNumber is how the contract names a user: "mainNumber*ext", e.g. "+16505550100*101".
func LoginNumber(a Account, e Extension) string { return phonenumber.Login(a.MainNumber, e.Number) }

// AccountStore persists accounts, extensions and password hashes.
// Implemented by internal/store; the Directory holds the rules over it.
type AccountStore interface {
	CreateAccount(ctx context.Context, a *Account) error // sets a.ID
	Account(ctx context.Context, id int64) (Account, error)
	AccountByMainNumber(ctx context.Context, number string) (Account, error)
	Accounts(ctx context.Context) ([]Account, error)
	CreateExtension(ctx context.Context, e *Extension, passwordHash string) error // sets e.ID; ErrConflict on duplicate email/number
	Extension(ctx context.Context, id int64) (Extension, error)
	ExtensionByEmail(ctx context.Context, email string) (Extension, error) // case-insensitive
	ExtensionByNumber(ctx context.Context, accountID int64, number string) (Extension, error)
	Extensions(ctx context.Context, accountID int64) ([]Extension, error)
	// SetDepartmentMembers replaces a department's members (ids of users of
	// its account, checked by the Directory).
	SetDepartmentMembers(ctx context.Context, departmentID int64, members []int64) error
	PasswordHash(ctx context.Context, extensionID int64) (string, error)
	// SetPasswordHash replaces the hash and, in the same transaction, ends
	// the extension's credentials (see Revocation), reason RevokedPassword.
	SetPasswordHash(ctx context.Context, extensionID int64, hash string) error
	// SetExtensionStatus sets the status; setting StatusDisabled ends the
	// extension's credentials in the same transaction, reason RevokedDisabled.
	SetExtensionStatus(ctx context.Context, extensionID int64, status string) error
}

// Reasons an extension's credentials end (Revocation.Reason).
const (
	RevokedDisabled = "disabled"
	RevokedPassword = "password"
)

// Revocation records that an extension's credentials ended: every widget
// session of it and every access token, refresh token and unused
// authorization code issued to it were ended with the change that caused
// it (a disable, a new password). A server that still holds the
// extension's event streams or phone devices open cuts them when it reads
// the record, whichever process made the change.
type Revocation struct {
	Seq         int64 // grows with each revocation
	ExtensionID int64
	Reason      string // RevokedDisabled or RevokedPassword
}

var (
	areaCodePattern    = regexp.MustCompile(`^[0-9]{1,5}$`)
	countryCodePattern = regexp.MustCompile(`^[A-Z]{2}$`)
)

// Validate checks an account before it is stored and canonicalises it:
// trimmed company, upper-case country, E.164 main number, and for NANP
// countries the area code taken from the main number when none is given.
func (a *Account) Validate() error {
	a.Company = strings.TrimSpace(a.Company)
	if a.Company == "" {
		return fmt.Errorf("%w: account needs a company name", ErrInvalid)
	}
	if utf8.RuneCountInString(a.Company) > 200 {
		return fmt.Errorf("%w: company name longer than 200 characters", ErrInvalid)
	}
	a.CountryCode = strings.ToUpper(strings.TrimSpace(a.CountryCode))
	if !countryCodePattern.MatchString(a.CountryCode) {
		return fmt.Errorf("%w: country code %q: want two letters (ISO 3166), e.g. US", ErrInvalid, a.CountryCode)
	}
	n, err := phonenumber.E164(a.MainNumber, a.CountryCode)
	if err != nil {
		return fmt.Errorf("%w: main number %q: want E.164, e.g. +16505550100", ErrInvalid, a.MainNumber)
	}
	a.MainNumber = n
	a.AreaCode = strings.TrimSpace(a.AreaCode)
	if a.AreaCode == "" {
		a.AreaCode = phonenumber.AreaCode(n, a.CountryCode)
	}
	if a.AreaCode != "" && !areaCodePattern.MatchString(a.AreaCode) {
		return fmt.Errorf("%w: area code %q: want 1-5 digits", ErrInvalid, a.AreaCode)
	}
	return nil
}

// Validate checks an extension of account a before it is stored and
// canonicalises it: lower-case email, E.164 direct numbers (read in the
// account's country), type User, role user and status Enabled when not
// given. A department is never an admin; only a department has members,
// which the Directory checks against the store.
func (e *Extension) Validate(a Account) error {
	e.AccountID = a.ID
	if !phonenumber.IsExtension(e.Number) {
		return fmt.Errorf("%w: extension number %q: want 2-8 digits", ErrInvalid, e.Number)
	}
	e.Name = strings.TrimSpace(e.Name)
	if e.Name == "" || utf8.RuneCountInString(e.Name) > 200 {
		return fmt.Errorf("%w: extension %s needs a name of at most 200 characters", ErrInvalid, e.Number)
	}
	email, err := canonicalEmail(e.Email)
	if err != nil {
		return fmt.Errorf("%w: extension %s: %v", ErrInvalid, e.Number, err)
	}
	e.Email = email
	switch e.Role {
	case "":
		e.Role = RoleUser
	case RoleUser, RoleAdmin:
	default:
		return fmt.Errorf("%w: extension %s: role %q: want user or admin", ErrInvalid, e.Number, e.Role)
	}
	switch e.Type {
	case "":
		e.Type = TypeUser
	case TypeUser, TypeDepartment:
	default:
		return fmt.Errorf("%w: extension %s: type %q: want %s or %s", ErrInvalid, e.Number, e.Type, TypeUser, TypeDepartment)
	}
	if e.Department() && e.Role == RoleAdmin {
		return fmt.Errorf("%w: extension %s: a department cannot be an admin", ErrInvalid, e.Number)
	}
	if !e.Department() && len(e.Members) > 0 {
		return fmt.Errorf("%w: extension %s: only a department has members", ErrInvalid, e.Number)
	}
	switch e.Status {
	case "":
		e.Status = StatusEnabled
	case StatusEnabled, StatusDisabled:
	default:
		return fmt.Errorf("%w: extension %s: status %q: want %s or %s", ErrInvalid, e.Number, e.Status, StatusEnabled, StatusDisabled)
	}
	seen := make(map[string]bool, len(e.DirectNumbers))
	for i, raw := range e.DirectNumbers {
		n, err := phonenumber.E164(raw, a.CountryCode)
		if err != nil {
			return fmt.Errorf("%w: extension %s: direct number %q: want E.164, e.g. +16505550101", ErrInvalid, e.Number, raw)
		}
		if seen[n] {
			return fmt.Errorf("%w: extension %s: direct number %s given twice", ErrInvalid, e.Number, n)
		}
		seen[n] = true
		e.DirectNumbers[i] = n
	}
	return nil
}

// canonicalEmail lower-cases a bare address ("ann@acme.test") and refuses
// anything else, display names included.
func canonicalEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s || len(s) > 254 {
		return "", fmt.Errorf("email %q: want a plain address, e.g. ann@example.com", s)
	}
	return s, nil
}
