package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/callbridge/widget-server/internal/audio"
	"github.com/callbridge/widget-server/internal/messaging"
)

// AudioDirName is the audio dir inside the data dir unless SetAudioDir
// names another.
const AudioDirName = "audio"

// AudioDir is the directory of the audio files the rows name (voicemail,
// recordings, greetings).
func (db *DB) AudioDir() string { return db.audioDir }

// SetAudioDir makes dir the audio dir; call it before the audio is used.
func (db *DB) SetAudioDir(dir string) { db.audioDir = dir }

// removeAudio deletes a file a removed row named, relative to the audio
// dir. It is best effort: the row is gone, and a file left behind (a path
// outside the dir is never touched) costs only space.
func (db *DB) removeAudio(rel string) {
	if rel == "" || !filepath.IsLocal(rel) {
		return
	}
	os.Remove(filepath.Join(db.audioDir, rel))
}

// insertAttachments stores a new message's attachments and returns them
// with their ids.
func insertAttachments(ctx context.Context, tx *sql.Tx, messageID string, atts []messaging.Attachment) ([]messaging.Attachment, error) {
	out := make([]messaging.Attachment, len(atts))
	for i, a := range atts {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO message_attachments (message_id, content_type, vm_duration, file, size)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, messageID, a.ContentType, seconds(a.Duration), a.File, a.Size).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("attachment of message %s: %w", messageID, err)
		}
		a.ID = strconv.FormatInt(id, 10)
		a.Duration = time.Duration(seconds(a.Duration)) * time.Second
		out[i] = a
	}
	return out, nil
}

// withAttachments fills in the attachments of the VoiceMail messages of
// msgs; other types have none.
func withAttachments(ctx context.Context, q messageQuerier, msgs []messaging.Message) error {
	var ids []any
	at := map[string]int{}
	for i, m := range msgs {
		if m.Type == messaging.VoiceMail {
			ids = append(ids, m.ID)
			at[m.ID] = i
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT id, message_id, content_type, vm_duration, file, size FROM message_attachments
		WHERE message_id IN (`+placeholders(len(ids))+`) ORDER BY id`, ids...)
	if err != nil {
		return fmt.Errorf("attachments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a messaging.Attachment
		var id, msg, secs int64
		if err := rows.Scan(&id, &msg, &a.ContentType, &secs, &a.File, &a.Size); err != nil {
			return fmt.Errorf("attachments: %w", err)
		}
		a.ID, a.Duration = strconv.FormatInt(id, 10), time.Duration(secs)*time.Second
		i := at[strconv.FormatInt(msg, 10)]
		msgs[i].Attachments = append(msgs[i].Attachments, a)
	}
	return rows.Err()
}

// dropAttachments removes a message's attachment rows and returns their
// files, for the caller to remove once the transaction is committed.
func dropAttachments(ctx context.Context, tx *sql.Tx, m messaging.Message) ([]string, error) {
	if len(m.Attachments) == 0 {
		return nil, nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM message_attachments WHERE message_id = ?`, m.ID); err != nil {
		return nil, fmt.Errorf("attachments of message %s: %w", m.ID, err)
	}
	files := make([]string, len(m.Attachments))
	for i, a := range m.Attachments {
		files[i] = a.File
	}
	return files, nil
}

// PurgeMessages removes for good the copies of type typ created before
// cutoff, their attachments and the attachments' files.
func (db *DB) PurgeMessages(ctx context.Context, typ messaging.Type, cutoff time.Time) (int, error) {
	var files []string
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		files = files[:0]
		before := cutoff.UTC().Format(messageTime)
		rows, err := tx.QueryContext(ctx, `SELECT a.file FROM message_attachments a JOIN messages m ON m.id = a.message_id
			WHERE m.type = ? AND m.creation_time < ?`, string(typ), before)
		if err != nil {
			return err
		}
		for rows.Next() {
			var f string
			if err := rows.Scan(&f); err != nil {
				rows.Close()
				return err
			}
			files = append(files, f)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE type = ? AND creation_time < ?`, string(typ), before)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge %s messages: %w", typ, err)
	}
	for _, f := range files {
		db.removeAudio(f)
	}
	return int(n), nil
}

// recordingTime is how recording start times are stored, as call_log's.
const recordingTime = callLogTime

const recordingColumns = `id, account_id, extension_id, telephony_session_id, session_id, type, content_type, duration_ms,
	file, size, start_time, status, error`

// AddRecording writes the row of a recording that starts. Its account is
// its owner extension's.
func (db *DB) AddRecording(ctx context.Context, r audio.Recording) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO recordings (id, account_id, extension_id, telephony_session_id, session_id,
		type, content_type, duration_ms, file, size, start_time, status, error)
		VALUES (?, COALESCE((SELECT account_id FROM extensions WHERE id = ?), ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ExtensionID, r.AccountID, r.ExtensionID, r.TelephonySessionID, r.SessionID, r.Type, r.ContentType,
		r.Duration.Milliseconds(), r.File, r.Size, r.StartTime.UTC().Format(recordingTime), string(r.Status), r.Error)
	if err != nil {
		return fmt.Errorf("add recording %s: %w", r.ID, err)
	}
	return nil
}

// UpdateRecording saves what a recording's row says of its file: content
// type, duration, file, size, status and error.
func (db *DB) UpdateRecording(ctx context.Context, r audio.Recording) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE recordings SET content_type = ?, duration_ms = ?, file = ?, size = ?,
		status = ?, error = ? WHERE id = ?`, r.ContentType, r.Duration.Milliseconds(), r.File, r.Size,
		string(r.Status), r.Error, r.ID)
	if err != nil {
		return fmt.Errorf("update recording %s: %w", r.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("update recording %s: %w", r.ID, audio.ErrNotFound)
	}
	return nil
}

// Recording returns a recording's row, or audio.ErrNotFound.
func (db *DB) Recording(ctx context.Context, id string) (audio.Recording, error) {
	r, err := scanRecording(db.sql.QueryRowContext(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return audio.Recording{}, fmt.Errorf("recording %q: %w", id, audio.ErrNotFound)
	}
	if err != nil {
		return audio.Recording{}, fmt.Errorf("recording %s: %w", id, err)
	}
	return r, nil
}

// UnfinishedRecordings returns the rows of the recordings still being
// made: at start, those a server that stopped was making.
func (db *DB) UnfinishedRecordings(ctx context.Context) ([]audio.Recording, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE status = ?`, string(audio.StatusRecording))
	if err != nil {
		return nil, fmt.Errorf("unfinished recordings: %w", err)
	}
	defer rows.Close()
	var out []audio.Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, fmt.Errorf("unfinished recordings: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanRecording(s scanner) (audio.Recording, error) {
	var r audio.Recording
	var ms int64
	var start, status string
	if err := s.Scan(&r.ID, &r.AccountID, &r.ExtensionID, &r.TelephonySessionID, &r.SessionID, &r.Type, &r.ContentType, &ms,
		&r.File, &r.Size, &start, &status, &r.Error); err != nil {
		return audio.Recording{}, err
	}
	r.Duration, r.Status = time.Duration(ms)*time.Millisecond, audio.RecordingStatus(status)
	var err error
	if r.StartTime, err = time.Parse(time.RFC3339, start); err != nil {
		return audio.Recording{}, fmt.Errorf("recording %s: %w", r.ID, err)
	}
	return r, nil
}

// DeleteRecording removes a recording's row and its file; audio.ErrNotFound
// when there is none.
func (db *DB) DeleteRecording(ctx context.Context, id string) error {
	var file string
	err := db.sql.QueryRowContext(ctx, `DELETE FROM recordings WHERE id = ? RETURNING file`, id).Scan(&file)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("delete recording %q: %w", id, audio.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete recording %s: %w", id, err)
	}
	db.removeAudio(file)
	return nil
}

// PurgeRecordings removes the recordings that started before cutoff and
// are not being made, with their files, and says how many went.
func (db *DB) PurgeRecordings(ctx context.Context, cutoff time.Time) (int, error) {
	rows, err := db.sql.QueryContext(ctx, `DELETE FROM recordings WHERE start_time < ? AND status != ? RETURNING file`,
		cutoff.UTC().Format(recordingTime), string(audio.StatusRecording))
	if err != nil {
		return 0, fmt.Errorf("purge recordings: %w", err)
	}
	var files []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return 0, fmt.Errorf("purge recordings: %w", err)
		}
		files = append(files, f)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, fmt.Errorf("purge recordings: %w", err)
	}
	for _, f := range files {
		db.removeAudio(f)
	}
	return len(files), nil
}

// Greeting returns the extension's own greeting, or audio.ErrNotFound.
func (db *DB) Greeting(ctx context.Context, extensionID int64) (audio.Greeting, error) {
	g := audio.Greeting{ExtensionID: extensionID}
	var ms int64
	var updated string
	err := db.sql.QueryRowContext(ctx, `SELECT file, content_type, duration_ms, updated_at FROM greetings WHERE extension_id = ?`,
		extensionID).Scan(&g.File, &g.ContentType, &ms, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return audio.Greeting{}, fmt.Errorf("greeting of extension %d: %w", extensionID, audio.ErrNotFound)
	}
	if err != nil {
		return audio.Greeting{}, fmt.Errorf("greeting of extension %d: %w", extensionID, err)
	}
	g.Duration = time.Duration(ms) * time.Millisecond
	if g.Updated, err = time.Parse(time.RFC3339, updated); err != nil {
		return audio.Greeting{}, fmt.Errorf("greeting of extension %d: %w", extensionID, err)
	}
	return g, nil
}

// SetGreeting makes g its extension's greeting; the file of the one it
// replaces is removed.
func (db *DB) SetGreeting(ctx context.Context, g audio.Greeting) error {
	var old string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT file FROM greetings WHERE extension_id = ?`, g.ExtensionID).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO greetings (extension_id, file, content_type, duration_ms, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (extension_id) DO UPDATE SET file = excluded.file,
			content_type = excluded.content_type, duration_ms = excluded.duration_ms, updated_at = excluded.updated_at`,
			g.ExtensionID, g.File, g.ContentType, g.Duration.Milliseconds(), g.Updated.UTC().Format(recordingTime))
		return err
	})
	if err != nil {
		return fmt.Errorf("set greeting of extension %d: %w", g.ExtensionID, err)
	}
	if old != g.File {
		db.removeAudio(old)
	}
	return nil
}

// DeleteGreeting removes the extension's own greeting and its file, so the
// default one plays again; audio.ErrNotFound when it had none.
func (db *DB) DeleteGreeting(ctx context.Context, extensionID int64) error {
	var file string
	err := db.sql.QueryRowContext(ctx, `DELETE FROM greetings WHERE extension_id = ? RETURNING file`, extensionID).Scan(&file)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("delete greeting of extension %d: %w", extensionID, audio.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("delete greeting of extension %d: %w", extensionID, err)
	}
	db.removeAudio(file)
	return nil
}

// audioDirOf is the default audio dir of a data dir.
func audioDirOf(dataDir string) string { return filepath.Join(dataDir, AudioDirName) }
