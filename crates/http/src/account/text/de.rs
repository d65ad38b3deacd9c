//! The German strings of the account page.

use super::Text;

/// German.
pub static DE: Text = Text {
    code: "de",
    title_suffix: "sealpost-Konto",
    signed_in_as: "Angemeldet als",
    sign_out: "Abmelden",
    back_to_account: "Zurück zu Ihrem Konto",
    overview_title: "Ihr Konto",
    export_h: "Ihre Daten herunterladen",
    access_link: "Ihre Anmeldungen ansehen",
    access_link_hint: "(Zeit, Protokoll, Adresse des Geräts, Ergebnis).",
    export_text: "Ein Archiv (tar) mit Ihrer gesamten Post, Ordner für Ordner, und dem gespeicherten \
         Protokoll Ihrer Anmeldungen (Zeit, Protokoll, Adresse des Geräts). Das ist Ihr Recht auf \
         Auskunft und Datenübertragbarkeit (DSGVO Artikel 15 und 20); der Download wird im \
         Sicherheitsprotokoll vermerkt.",
    export_format: "Format der Post",
    export_mbox: "mbox (eine Datei je Ordner: die meisten Mailprogramme können sie importieren)",
    export_maildir: "Maildir (eine Datei je Nachricht)",
    export_button: "Meine Daten herunterladen",
    password_h: "Passwort ändern",
    password_text: "Mailprogramme, die dieses Passwort verwenden, brauchen danach das neue; \
         App-Passwörter gelten weiter. Sie bleiben hier angemeldet; andere Anmeldungen auf \
         dieser Seite enden.",
    current_password: "Aktuelles Passwort",
    new_password: "Neues Passwort (mindestens {min} Zeichen)",
    confirm_password: "Neues Passwort wiederholen",
    change_password: "Passwort ändern",
    apps_h: "App-Passwörter",
    apps_text: "Ein eigenes Passwort für jedes Mailprogramm oder Gerät (IMAP, POP3, Mail \
         versenden). Entfernen Sie eines, ist dieses Gerät ausgesperrt, ohne dass Sie Ihr \
         Passwort ändern müssen.",
    apps_none: "Sie haben keine App-Passwörter.",
    apps_caption: "Ihre App-Passwörter",
    apps_col_label: "Name",
    apps_col_action: "Aktion",
    apps_remove: "Entfernen",
    apps_remove_aria: "Das App-Passwort {label} entfernen",
    apps_new_label: "Name des neuen App-Passworts (zum Beispiel „Telefon“)",
    apps_create: "App-Passwort erstellen",
    delete_h: "Konto löschen",
    delete_text: "Ihr Recht auf Löschung (DSGVO Artikel 17). Die nächste Seite sagt genau, was \
         geschieht, und fragt nach Ihrem Passwort.",
    delete_link: "Mein Konto löschen …",
    not_found_title: "Seite nicht gefunden",
    not_found_text: "Diese Seite gibt es nicht.",
    not_allowed_title: "Nicht erlaubt",
    not_allowed_text: "Diese Seite nimmt diese Art von Anfrage nicht an.",
    login_h: "Bei Ihrem Mailkonto anmelden",
    address_label: "E-Mail-Adresse",
    password_label: "Passwort",
    login_hint: "Das eigene Passwort Ihres Kontos. App-Passwörter sind für Mailprogramme und \
         funktionieren hier nicht.",
    sign_in: "Anmelden",
    login_about: "Hier können Sie Ihre Daten herunterladen, Ihr Passwort ändern, App-Passwörter \
         verwalten und Ihr Konto löschen.",
    login_wrong: "Adresse oder Passwort ist falsch. App-Passwörter funktionieren hier nicht: \
         Verwenden Sie das eigene Passwort Ihres Kontos.",
    busy_title: "Bitte später erneut versuchen",
    busy_text: "Gerade sind zu viele Personen angemeldet. Bitte versuchen Sie es in ein paar \
         Minuten erneut.",
    password_not_accepted: "Passwort nicht angenommen",
    throttled_failures: "Zu viele fehlgeschlagene Anmeldungen, versuchen Sie es in {secs} Sekunden erneut.",
    throttled_busy: "Zu viele laufende Anmeldungen von Ihrer Adresse, versuchen Sie es in {secs} Sekunden erneut.",
    signed_out_title: "Abgemeldet",
    signed_out_h: "Sie sind abgemeldet",
    sign_in_again: "Erneut anmelden",
    form_not_accepted: "Das Formular wurde nicht angenommen",
    form_too_many: "Das Formular hat zu viele Felder.",
    form_malformed: "Das Formular konnte nicht gelesen werden: {why}.",
    form_missing: "Bitte füllen Sie das Feld „{field}“ aus.",
    form_too_long: "Das Feld „{field}“ ist zu lang (höchstens {max} Zeichen).",
    form_type: "Formulare werden hier als application/x-www-form-urlencoded gesendet.",
    form_too_large: "Das Formular ist größer als {limit} Bytes. Es wurde nichts geändert.",
    form_bad_percent: "auf ein % folgen nicht zwei Hexadezimalziffern",
    form_not_utf8: "es ist kein UTF-8",
    form_control: "es enthält Steuerzeichen",
    form_twice: "ein Feld kommt doppelt vor",
    request_refused: "Anfrage abgelehnt",
    forbidden_text: "Dieses Formular kam nicht von dieser Seite oder ist abgelaufen. Es wurde \
         nichts geändert. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.",
    wrong_password_text: "Adresse oder Passwort ist falsch. App-Passwörter funktionieren hier \
         nicht: Verwenden Sie das eigene Passwort Ihres Kontos. Es wurde nichts geändert.",
    wait_title: "Bitte warten",
    not_found: "Nicht gefunden",
    went_wrong_title: "Etwas ist schiefgegangen",
    went_wrong_text: "Der Server konnte das nicht ausführen. Es wurde nichts geändert. Bitte \
         versuchen Sie es später erneut; wenn es weiter scheitert, schreiben Sie Ihrem \
         Mail-Anbieter.",
    error_title: "Fehler",
    sign_in_again_title: "Bitte melden Sie sich erneut an",
    session_ended_text: "Ihre Sitzung ist beendet (abgemeldet, abgelaufen oder das Passwort wurde \
         geändert). Es wurde nichts geändert.",
    password_not_changed: "Passwort nicht geändert",
    pw_differ: "Das neue Passwort und seine Wiederholung stimmen nicht überein. Ihr Passwort \
         wurde nicht geändert.",
    pw_short: "Das neue Passwort ist kürzer als {min} Zeichen. Ihr Passwort wurde nicht geändert.",
    pw_space: "Das neue Passwort beginnt oder endet mit einem Leerzeichen, das Mailprogramme oft \
         weglassen. Ihr Passwort wurde nicht geändert.",
    pw_same: "Das neue Passwort ist das aktuelle. Ihr Passwort wurde nicht geändert.",
    pw_changed: "Ihr Passwort wurde geändert. Verwenden Sie das neue in Ihren Mailprogrammen.",
    app_not_created: "App-Passwort nicht erstellt",
    app_new_title: "Neues App-Passwort",
    app_new_h: "Ihr neues App-Passwort",
    app_new_text: "Geben Sie dieses Passwort im Mailprogramm „{label}“ statt des Passworts Ihres \
         Kontos ein:",
    app_shown_once: "<strong>Es wird nur jetzt angezeigt.</strong> Gespeichert wird nur ein Hash: \
         niemand, auch nicht Ihr Anbieter, kann es wieder anzeigen. Verloren? Entfernen Sie es \
         und erstellen Sie ein neues.",
    app_removed: "Das App-Passwort „{label}“ wurde entfernt: Es funktioniert nicht mehr.",
    label_empty: "Bitte geben Sie dem App-Passwort einen Namen.",
    label_long: "Der Name ist länger als {max} Zeichen.",
    label_control: "Der Name enthält ein Steuerzeichen.",
    label_taken: "Sie haben bereits ein App-Passwort namens „{label}“: Wählen Sie einen anderen Namen.",
    label_too_many: "Sie haben bereits {max} App-Passwörter: Entfernen Sie zuerst eines.",
    label_missing: "Sie haben kein App-Passwort namens „{label}“ (schon entfernt?).",
    pw_long: "Das neue Passwort ist länger als {max} Bytes (ein Buchstabe mit Akzent belegt zwei). Ihr Passwort wurde nicht geändert.",
    label_bad: "Der Name wird nicht angenommen: höchstens {max} Zeichen, ohne Steuerzeichen.",
    app_id_taken: "Das neue App-Passwort konnte diesmal nicht erzeugt werden. Es wurde nichts geändert: Bitte versuchen Sie es noch einmal.",
    account_gone: "Ihr Konto steht nicht mehr in der Kontenliste des Servers. Es wurde nichts geändert; bitte wenden Sie sich an Ihren Mailanbieter.",
    export_no_store: "Ihr Konto hat noch keine Mails: Es gibt nichts herunterzuladen.",
    access_title: "Ihre Anmeldungen",
    access_text: "Jede Anmeldung bei Ihrem Konto, die das Sicherheitsprotokoll aufbewahrt: durch \
         Mailprogramme (IMAP, POP3, Versand) und auf dieser Seite, erfolgreich oder nicht. Das \
         ist Ihr Auskunftsrecht (DSGVO Artikel 15). {total} insgesamt; Seite {number} von {pages}.",
    access_newer: "Neuere",
    access_older: "Ältere",
    access_none: "Auf dieser Seite sind keine Anmeldungen verzeichnet.",
    access_caption: "Anmeldungen, neueste zuerst",
    access_col_time: "Zeit (UTC)",
    access_col_protocol: "Protokoll",
    access_col_client: "Adresse des Geräts",
    access_col_result: "Ergebnis",
    access_pages: "Seiten",
    access_success: "erfolgreich",
    access_failure: "fehlgeschlagen",
    access_throttled: "gebremst",
    export_running: "Ein Export Ihres Kontos läuft bereits. Warten Sie, bis sein Download \
         abgeschlossen ist.",
    export_busy: "Gerade laufen zu viele Exporte. Bitte versuchen Sie es in einer Minute erneut.",
    export_not_started: "Export nicht gestartet",
    export_bad_format: "Das Format muss mbox oder Maildir sein.",
    st_audit_forever: "so lange das Sicherheitsprotokoll aufbewahrt wird",
    st_audit_until: "bis sie {months} Monate alt sind",
    st_audit_kept: "Ihr Anbieter ist gesetzlich verpflichtet, sein Sicherheitsprotokoll \
         aufzubewahren: Die Einträge Ihrer Anmeldungen und dieser Löschung behalten Ihre Adresse \
         und IP-Adressen {until}; danach bleiben nur anonyme Einträge.",
    st_audit_erased: "Die Einträge Ihrer Anmeldungen und dieser Löschung im Sicherheitsprotokoll \
         verlieren beim endgültigen Löschen Ihre Adresse und IP-Adressen; es bleiben nur \
         anonyme Einträge.",
    st_at_once: "<strong>Sofort:</strong> Sie können sich nicht mehr anmelden, weder hier noch in \
         einem Mailprogramm (App-Passwörter eingeschlossen), und Post an Ihre Adresse wird \
         abgewiesen. Ihre Post, Ordner und App-Passwörter werden unlesbar: Ihr Schlüssel wird \
         weggeschlossen.",
    st_until: "<strong>Bis zum {date}</strong> ({days} Tage): Ihr Anbieter kann das Konto mit \
         aller Post noch wiederherstellen, wenn Sie ihn darum bitten.",
    st_on: "<strong>Am {date}:</strong> Alles wird endgültig vernichtet, auch von Ihnen gesendete \
         Post, die noch auf die Zustellung wartet. Danach kann niemand es wiederherstellen.",
    st_keep_mail: "Möchten Sie Ihre Post behalten? <a href=\"/account\">Laden Sie zuerst Ihre \
         Daten herunter</a>.",
    delete_intro: "Sie sind dabei, das Konto <strong>{address}</strong> zu löschen. Das \
         geschieht dann:",
    delete_confirm_address: "Geben Sie zur Bestätigung Ihre E-Mail-Adresse ein",
    delete_password: "Ihr Passwort",
    delete_button: "Mein Konto löschen",
    keep_account: "Nein, mein Konto behalten",
    not_deleted: "Konto nicht gelöscht",
    typed_wrong: "Die eingegebene Adresse ist nicht die dieses Kontos. Ihr Konto wurde nicht \
         gelöscht.",
    no_host: "Die Anfrage nennt keinen Host. Ihr Konto wurde nicht gelöscht.",
    check_mailbox: "Sehen Sie in Ihr Postfach",
    check_mailbox_text: "Eine Nachricht mit einem Link zur Bestätigung der Löschung wurde an \
         <strong>{address}</strong> zugestellt (Ihr Posteingang). Öffnen Sie ihn innerhalb von \
         {minutes} Minuten, hier angemeldet, und bestätigen Sie: Erst dann wird das Konto \
         gelöscht.",
    changed_mind: "Umentschieden? Tun Sie nichts: Der Link hört von selbst auf zu funktionieren.",
    confirm_title: "Löschung bestätigen",
    confirm_question: "Das Konto <strong>{address}</strong> jetzt löschen?",
    confirm_button: "Mein Konto jetzt löschen",
    link_invalid: "Dieser Link gilt nicht mehr (benutzt, durch einen neueren ersetzt oder älter \
         als eine halbe Stunde). Ihr Konto wurde nicht gelöscht; fordern Sie auf Ihrer \
         Kontoseite einen neuen an.",
    deleted_h: "Ihr Konto ist gelöscht",
    deleted_text: "Das Konto <strong>{address}</strong> ist gelöscht. Seine Post ist ab jetzt \
         unlesbar und wird am {date} endgültig vernichtet.",
    deleted_restore: "Umentschieden? Bis dahin kann Ihr Anbieter es wiederherstellen, wenn Sie \
         ihn darum bitten.",
    deleted_title: "Konto gelöscht",
    mail_from_name: "Kontoseite",
    mail_subject: "Bestätigen Sie die Löschung Ihres Kontos",
    mail_body: "Jemand hat sich mit Ihrem Passwort auf Ihrer Kontoseite angemeldet und\r\n\
         verlangt, das Konto {address} zu löschen.\r\n\r\n\
         Um es zu löschen, öffnen Sie diesen Link innerhalb von {minutes} Minuten,\r\n\
         angemeldet, und bestätigen Sie:\r\n\r\n\
         {link}\r\n\r\n\
         Wenn Sie es nicht waren, tun Sie nichts: Das Konto bleibt, und der Link\r\n\
         funktioniert nach {minutes} Minuten nicht mehr. Ändern Sie dann Ihr Passwort.\r\n",
};
