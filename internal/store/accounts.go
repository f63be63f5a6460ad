package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/callbridge/widget-server/internal/identity"
)

var _ identity.AccountStore = (*DB)(nil)

// The store keeps accounts and extensions as identity.Directory hands them
// over, validated; it only lower-cases emails, the key they are unique on.

const accountColumns = `id, company, main_number, country_code, area_code`

// CreateAccount inserts a and sets a.ID; identity.ErrConflict when its main
// number is taken.
func (db *DB) CreateAccount(ctx context.Context, a *identity.Account) error {
	err := db.sql.QueryRowContext(ctx,
		`INSERT INTO accounts (company, main_number, country_code, area_code) VALUES (?, ?, ?, ?) RETURNING id`,
		a.Company, a.MainNumber, a.CountryCode, a.AreaCode).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("create account %s: %w", a.MainNumber, constraintError(err))
	}
	return nil
}

// Account returns the account with that id, or identity.ErrNotFound.
func (db *DB) Account(ctx context.Context, id int64) (identity.Account, error) {
	row := db.sql.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id)
	return oneAccount(row, fmt.Sprintf("account %d", id))
}

// AccountByMainNumber returns the account whose main number is exactly
// number (E.164), or identity.ErrNotFound.
func (db *DB) AccountByMainNumber(ctx context.Context, number string) (identity.Account, error) {
	row := db.sql.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE main_number = ?`, number)
	return oneAccount(row, fmt.Sprintf("account %q", number))
}

// Accounts lists every account in the order they were created.
func (db *DB) Accounts(ctx context.Context) ([]identity.Account, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var accounts []identity.Account
	for rows.Next() {
		var a identity.Account
		if err := rows.Scan(&a.ID, &a.Company, &a.MainNumber, &a.CountryCode, &a.AreaCode); err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		accounts = append(accounts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return accounts, nil
}

func oneAccount(row *sql.Row, what string) (identity.Account, error) {
	var a identity.Account
	err := row.Scan(&a.ID, &a.Company, &a.MainNumber, &a.CountryCode, &a.AreaCode)
	if errors.Is(err, sql.ErrNoRows) {
		return identity.Account{}, fmt.Errorf("%s: %w", what, identity.ErrNotFound)
	}
	if err != nil {
		return identity.Account{}, fmt.Errorf("%s: %w", what, err)
	}
	return a, nil
}

// extensionColumns are what scanExtension reads: a department's members
// come along as a JSON array of ids.
func (db *DB) extensionColumns() string { return extensionColumns[db.dialect] }

var extensionColumns = func() map[dialect]string {
	cols := map[dialect]string{}
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		cols[d] = `id, account_id, number, name, email, role, status, direct_numbers, type, ` +
			d.jsonArrayOf("member_id", "FROM department_members WHERE department_id = extensions.id")
	}
	return cols
}()

// CreateExtension inserts e with its password hash, and a department's
// members, and sets e.ID. identity.ErrConflict when its email or its number
// in the account is taken; identity.ErrNotFound when the account or a
// member does not exist.
func (db *DB) CreateExtension(ctx context.Context, e *identity.Extension, passwordHash string) error {
	e.Email = strings.ToLower(e.Email)
	if e.Type == "" {
		e.Type = identity.TypeUser
	}
	direct, _ := json.Marshal(nonNil(e.DirectNumbers))
	var id int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO extensions (account_id, number, name, email, role, status, direct_numbers, type, password_hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			e.AccountID, e.Number, e.Name, e.Email, string(e.Role), e.Status, string(direct), string(e.Type), passwordHash).Scan(&id)
		if err != nil {
			return constraintError(err)
		}
		return insertMembers(ctx, tx, id, e.Members)
	})
	if err != nil {
		return fmt.Errorf("create extension %s (%s) in account %d: %w", e.Number, e.Email, e.AccountID, err)
	}
	e.ID = id
	return nil
}

// SetDepartmentMembers replaces the members of a department;
// identity.ErrNotFound when it or a member does not exist. The rules of who
// may be a member are identity.Directory's.
func (db *DB) SetDepartmentMembers(ctx context.Context, departmentID int64, members []int64) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var typ string
		err := tx.QueryRowContext(ctx, `SELECT type FROM extensions WHERE id = ?`, departmentID).Scan(&typ)
		if errors.Is(err, sql.ErrNoRows) {
			return identity.ErrNotFound
		}
		if err != nil {
			return err
		}
		if typ != string(identity.TypeDepartment) {
			return fmt.Errorf("%w: not a department", identity.ErrInvalid)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM department_members WHERE department_id = ?`, departmentID); err != nil {
			return err
		}
		if err := insertMembers(ctx, tx, departmentID, members); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE extensions SET updated_at = ? WHERE id = ?`,
			timeText(time.Now()), departmentID)
		return err
	})
	if err != nil {
		return fmt.Errorf("set members of department %d: %w", departmentID, err)
	}
	return nil
}

// insertMembers adds members to a department, each once.
func insertMembers(ctx context.Context, tx *sql.Tx, departmentID int64, members []int64) error {
	for _, m := range members {
		if _, err := tx.ExecContext(ctx, `INSERT INTO department_members (department_id, member_id) VALUES (?, ?)
			ON CONFLICT DO NOTHING`,
			departmentID, m); err != nil {
			return fmt.Errorf("member %d: %w", m, constraintError(err))
		}
	}
	return nil
}

// Extension returns the extension with that id, or identity.ErrNotFound.
func (db *DB) Extension(ctx context.Context, id int64) (identity.Extension, error) {
	row := db.sql.QueryRowContext(ctx, `SELECT `+db.extensionColumns()+` FROM extensions WHERE id = ?`, id)
	return oneExtension(row, fmt.Sprintf("extension %d", id))
}

// ExtensionByEmail returns the extension with that email in any case, or
// identity.ErrNotFound.
func (db *DB) ExtensionByEmail(ctx context.Context, email string) (identity.Extension, error) {
	row := db.sql.QueryRowContext(ctx, `SELECT `+db.extensionColumns()+` FROM extensions WHERE email = ?`,
		strings.ToLower(email))
	return oneExtension(row, fmt.Sprintf("extension %q", email))
}

// ExtensionByNumber returns extension number of the account, or identity.ErrNotFound.
func (db *DB) ExtensionByNumber(ctx context.Context, accountID int64, number string) (identity.Extension, error) {
	row := db.sql.QueryRowContext(ctx,
		`SELECT `+db.extensionColumns()+` FROM extensions WHERE account_id = ? AND number = ?`, accountID, number)
	return oneExtension(row, fmt.Sprintf("extension %s of account %d", number, accountID))
}

// Extensions lists the account's extensions in numeric order (99 before 100).
func (db *DB) Extensions(ctx context.Context, accountID int64) ([]identity.Extension, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+db.extensionColumns()+` FROM extensions
		WHERE account_id = ? ORDER BY length(number), number`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list extensions of account %d: %w", accountID, err)
	}
	defer rows.Close()
	var exts []identity.Extension
	for rows.Next() {
		e, err := scanExtension(rows)
		if err != nil {
			return nil, fmt.Errorf("list extensions of account %d: %w", accountID, err)
		}
		exts = append(exts, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list extensions of account %d: %w", accountID, err)
	}
	return exts, nil
}

// PasswordHash returns the extension's password hash, or identity.ErrNotFound.
func (db *DB) PasswordHash(ctx context.Context, extensionID int64) (string, error) {
	var hash string
	err := db.sql.QueryRowContext(ctx, `SELECT password_hash FROM extensions WHERE id = ?`, extensionID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("password of extension %d: %w", extensionID, identity.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("password of extension %d: %w", extensionID, err)
	}
	return hash, nil
}

// SetPasswordHash replaces the extension's password hash and ends its
// credentials in the same transaction (see revokeCredentials);
// identity.ErrNotFound when there is no such extension.
func (db *DB) SetPasswordHash(ctx context.Context, extensionID int64, hash string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE extensions SET password_hash = ?,
			updated_at = ? WHERE id = ?`, hash, timeText(time.Now()), extensionID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return identity.ErrNotFound
		}
		return db.revokeCredentials(ctx, tx, extensionID, identity.RevokedPassword)
	})
	if err != nil {
		return fmt.Errorf("set password of extension %d: %w", extensionID, err)
	}
	return nil
}

// SetExtensionStatus sets the extension's status; disabling it ends its
// credentials in the same transaction (see revokeCredentials).
// identity.ErrNotFound when there is no such extension.
func (db *DB) SetExtensionStatus(ctx context.Context, extensionID int64, status string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE extensions SET status = ?,
			updated_at = ? WHERE id = ?`, status, timeText(time.Now()), extensionID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return identity.ErrNotFound
		}
		if status == identity.StatusEnabled {
			return nil
		}
		return db.revokeCredentials(ctx, tx, extensionID, identity.RevokedDisabled)
	})
	if err != nil {
		return fmt.Errorf("set status of extension %d: %w", extensionID, err)
	}
	return nil
}

func oneExtension(row *sql.Row, what string) (identity.Extension, error) {
	e, err := scanExtension(row)
	if errors.Is(err, sql.ErrNoRows) {
		return identity.Extension{}, fmt.Errorf("%s: %w", what, identity.ErrNotFound)
	}
	if err != nil {
		return identity.Extension{}, fmt.Errorf("%s: %w", what, err)
	}
	return e, nil
}

func scanExtension(s scanner) (identity.Extension, error) {
	var e identity.Extension
	var role, direct, typ, members string
	if err := s.Scan(&e.ID, &e.AccountID, &e.Number, &e.Name, &e.Email, &role, &e.Status, &direct, &typ, &members); err != nil {
		return e, err
	}
	e.Role, e.Type = identity.Role(role), identity.ExtensionType(typ)
	if err := json.Unmarshal([]byte(direct), &e.DirectNumbers); err != nil {
		return e, fmt.Errorf("decode extension %d: %w", e.ID, err)
	}
	if len(e.DirectNumbers) == 0 {
		e.DirectNumbers = nil
	}
	if err := json.Unmarshal([]byte(members), &e.Members); err != nil {
		return e, fmt.Errorf("decode members of extension %d: %w", e.ID, err)
	}
	if len(e.Members) == 0 {
		e.Members = nil
	}
	slices.Sort(e.Members)
	return e, nil
}

// uniqueNames says in words which UNIQUE constraint a conflict broke.
var uniqueNames = map[string]string{
	"accounts.main_number":                     "main number",
	"extensions.email":                         "email",
	"extensions.account_id, extensions.number": "extension number",
}

// constraintError maps SQLite constraint violations to the identity
// sentinels: a UNIQUE violation is identity.ErrConflict, naming the columns,
// and a missing parent row identity.ErrNotFound. Other errors pass through.
func constraintError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return postgresConstraintError(err, pe)
	}
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_CONSTRAINT {
		return err
	}
	msg := se.Error()
	switch {
	case se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE, se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
		strings.Contains(msg, "UNIQUE constraint failed"):
		_, cols, ok := strings.Cut(msg, "UNIQUE constraint failed: ")
		if !ok {
			return fmt.Errorf("%v: %w", err, identity.ErrConflict)
		}
		cols, _, _ = strings.Cut(cols, " (")
		if name, ok := uniqueNames[cols]; ok {
			cols = name
		}
		return fmt.Errorf("%s: %w", cols, identity.ErrConflict)
	case se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY, strings.Contains(msg, "FOREIGN KEY constraint failed"):
		return fmt.Errorf("%w: %v", identity.ErrNotFound, err)
	}
	return err
}

// postgresConstraintError is constraintError for PostgreSQL's errors: a
// unique_violation names its columns in its detail, "Key (a, b)=(…)
// already exists."
func postgresConstraintError(err error, pe *pgconn.PgError) error {
	switch pe.Code {
	case "23505": // unique_violation
		cols := ""
		if rest, ok := strings.CutPrefix(pe.Detail, "Key ("); ok {
			if list, _, ok := strings.Cut(rest, ")="); ok {
				names := strings.Split(list, ", ")
				for i, n := range names {
					names[i] = pe.TableName + "." + n
				}
				cols = strings.Join(names, ", ")
			}
		}
		if name, ok := uniqueNames[cols]; ok {
			cols = name
		}
		if cols == "" {
			return fmt.Errorf("%v: %w", err, identity.ErrConflict)
		}
		return fmt.Errorf("%s: %w", cols, identity.ErrConflict)
	case "23503": // foreign_key_violation
		return fmt.Errorf("%w: %v", identity.ErrNotFound, err)
	}
	return err
}
