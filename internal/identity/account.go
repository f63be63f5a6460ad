package identity

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
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

// Directory holds the rules over an AccountStore: validation, password
// hashing and how a sign-in name resolves to an extension.
type Directory struct {
	store      AccountStore
	refuseDemo bool // see RefuseDemoPassword

	dummyOnce sync.Once
	dummyHash string // compared against when the user is unknown
}

// NewDirectory returns a Directory over s.
func NewDirectory(s AccountStore) *Directory { return &Directory{store: s} }

// CreateAccount validates a and stores it, setting a.ID. A main number that
// is already taken is ErrConflict.
func (d *Directory) CreateAccount(ctx context.Context, a *Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	return d.store.CreateAccount(ctx, a)
}

// CreateExtension validates e against its account, hashes password and
// stores both, setting e.ID. A taken email or number is ErrConflict. A
// department has no password (password must be ""): nobody signs in as it;
// its members, users of its account, are checked as SetMembers does.
func (d *Directory) CreateExtension(ctx context.Context, e *Extension, password string) error {
	a, err := d.store.Account(ctx, e.AccountID)
	if err != nil {
		return fmt.Errorf("create extension %s: %w", e.Number, err)
	}
	if err := e.Validate(a); err != nil {
		return err
	}
	if e.Department() {
		if password != "" {
			return fmt.Errorf("%w: extension %s: a department does not sign in and has no password", ErrInvalid, e.Number)
		}
		members, err := d.checkMembers(ctx, e.AccountID, e.Members)
		if err != nil {
			return fmt.Errorf("department %s: %w", e.Number, err)
		}
		e.Members = members
		return d.store.CreateExtension(ctx, e, "")
	}
	hash, err := HashPassword(password)
	if err != nil {
		return fmt.Errorf("extension %s: %w", e.Number, err)
	}
	return d.store.CreateExtension(ctx, e, hash)
}

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

// SetPassword replaces an extension's password and ends, at once, every
// widget session and API token of it (see Revocation): whoever knew the old
// password, or holds a token got with it, is out.
func (d *Directory) SetPassword(ctx context.Context, extensionID int64, password string) error {
	hash, err := HashPassword(password)
	if err != nil {
		return fmt.Errorf("extension %d: %w", extensionID, err)
	}
	return d.store.SetPasswordHash(ctx, extensionID, hash)
}

// SetStatus enables (StatusEnabled) or disables (StatusDisabled) a user.
// Disabling ends, at once, every widget session and API token of the
// extension (see Revocation); it cannot sign in until enabled again. A
// department does not sign in and has no status to change: ErrInvalid.
func (d *Directory) SetStatus(ctx context.Context, extensionID int64, status string) error {
	if status != StatusEnabled && status != StatusDisabled {
		return fmt.Errorf("%w: status %q: want %s or %s", ErrInvalid, status, StatusEnabled, StatusDisabled)
	}
	e, err := d.store.Extension(ctx, extensionID)
	if err != nil {
		return fmt.Errorf("extension %d: %w", extensionID, err)
	}
	if e.Department() {
		return fmt.Errorf("%w: extension %s is a department, which does not sign in", ErrInvalid, e.Number)
	}
	return d.store.SetExtensionStatus(ctx, extensionID, status)
}

// AccountByMainNumber finds the account whose main number is raw in any
// common format: E.164 with or without separators ("+1 650 555 0100"), or,
// for an account in a North American country, its national format
// ("(650) 555-0100", "16505550100"). ErrNotFound when there is none.
func (d *Directory) AccountByMainNumber(ctx context.Context, raw string) (Account, error) {
	tried := map[string]bool{}
	// The country is not known until the account is found, so a national
	// number is tried as North American (the plan of the ten-digit numbers
	// people type without a "+"); the account found must then read raw the
	// same way in its own country.
	for _, cc := range []string{"", "US"} {
		n, err := phonenumber.E164(raw, cc)
		if err != nil || tried[n] {
			continue
		}
		tried[n] = true
		a, err := d.store.AccountByMainNumber(ctx, n)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Account{}, fmt.Errorf("account %q: %w", raw, err)
		}
		if own, err := phonenumber.E164(raw, a.CountryCode); err == nil && own == a.MainNumber {
			return a, nil
		}
	}
	return Account{}, fmt.Errorf("account %q: %w", raw, ErrNotFound)
}

// Authenticate resolves username — an email, or "mainNumber*ext" with the
// main number in any format AccountByMainNumber accepts — and checks the
// password. Unknown users, wrong passwords, disabled extensions,
// departments (which have no password) and, after RefuseDemoPassword, the
// demo users' demo password are all ErrBadCredentials, and an unknown user costs a password hash too, so
// neither the answer nor its timing tells which users exist. Other errors
// are the store's.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (Account, Extension, error) {
	a, e, err := d.resolve(ctx, strings.TrimSpace(username))
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalid) {
		CheckPassword(d.dummy(), password)
		return Account{}, Extension{}, ErrBadCredentials
	}
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("authenticate: %w", err)
	}
	if e.Department() { // no password: costs one as an unknown user does
		CheckPassword(d.dummy(), password)
		return Account{}, Extension{}, ErrBadCredentials
	}
	hash, err := d.store.PasswordHash(ctx, e.ID)
	if errors.Is(err, ErrNotFound) {
		CheckPassword(d.dummy(), password)
		return Account{}, Extension{}, ErrBadCredentials
	}
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("authenticate extension %d: %w", e.ID, err)
	}
	if !CheckPassword(hash, password) || !e.Enabled() || d.refuseDemo && demoPassword(a, e, password) {
		return Account{}, Extension{}, ErrBadCredentials
	}
	return a, e, nil
}

// resolve finds the extension a sign-in name stands for.
func (d *Directory) resolve(ctx context.Context, username string) (Account, Extension, error) {
	if strings.Contains(username, "@") {
		return d.ExtensionByEmail(ctx, username)
	}
	main, ext, ok := phonenumber.SplitLogin(username)
	if !ok || !phonenumber.IsExtension(ext) {
		return Account{}, Extension{}, fmt.Errorf("%w: username %q: want an email or mainNumber*ext", ErrInvalid, username)
	}
	a, err := d.AccountByMainNumber(ctx, main)
	if err != nil {
		return Account{}, Extension{}, err
	}
	e, err := d.store.ExtensionByNumber(ctx, a.ID, ext)
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("extension %s of account %d: %w", ext, a.ID, err)
	}
	return a, e, nil
}

// ExtensionWithAccount returns an extension and the account it belongs to.
func (d *Directory) ExtensionWithAccount(ctx context.Context, extensionID int64) (Account, Extension, error) {
	e, err := d.store.Extension(ctx, extensionID)
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("extension %d: %w", extensionID, err)
	}
	a, err := d.store.Account(ctx, e.AccountID)
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("account of extension %d: %w", extensionID, err)
	}
	return a, e, nil
}

// ExtensionByEmail returns the extension with that email, in any case, and
// its account.
func (d *Directory) ExtensionByEmail(ctx context.Context, email string) (Account, Extension, error) {
	e, err := d.store.ExtensionByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("extension %q: %w", email, err)
	}
	a, err := d.store.Account(ctx, e.AccountID)
	if err != nil {
		return Account{}, Extension{}, fmt.Errorf("account of extension %q: %w", email, err)
	}
	return a, e, nil
}

// dummy returns a hash, made once, that an unknown user's password is
// compared against to spend the time a real check would.
func (d *Directory) dummy() string {
	d.dummyOnce.Do(func() {
		h, err := HashPassword("no such user: a password nobody has")
		if err == nil {
			d.dummyHash = h
		}
	})
	return d.dummyHash
}

// SignInKey is the key under which the sign-in back-off (Throttle) counts
// username's failures: the extension it resolves to, however it is spelled
// ("+1 650-555-0100*101", "6505550100*101" and alice's email are one key),
// and for a name that resolves to no one a normalised form of it, so that
// guessing at unknown names in many spellings is slowed as well.
func (d *Directory) SignInKey(ctx context.Context, username string) string {
	username = strings.TrimSpace(username)
	if _, e, err := d.resolve(ctx, username); err == nil {
		return fmt.Sprint("ext:", e.ID)
	}
	name := strings.ToLower(username)
	if main, ext, ok := phonenumber.SplitLogin(name); ok && !strings.Contains(name, "@") {
		for _, cc := range []string{"", "US"} {
			if n, err := phonenumber.E164(main, cc); err == nil {
				return "name:" + phonenumber.Login(n, strings.TrimSpace(ext))
			}
		}
	}
	return "name:" + strings.Join(strings.Fields(name), " ")
}
