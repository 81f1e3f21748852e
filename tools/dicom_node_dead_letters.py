"""List the DICOM node's dead letters, or put them back in its outbox.

A dead letter is a result the destination refused (a failure status, five
times) or could not take (no presentation context for its SOP class, an
unreadable file); the node sets it aside so that the rest of the queue goes
on (docs/conformance.md, "Dead letters")::

    python tools/dicom_node_dead_letters.py --spool /var/spool/famo
    python tools/dicom_node_dead_letters.py --spool /var/spool/famo \\
        --requeue [--study study-0123456789ab]

Listing prints each study key with its dead letters' reasons and counts
(no identifiers). ``--requeue`` moves them back where they were in the
outbox; a running node sends them at its next pass, so fix the destination
first (e.g. add the SOP class to the PACS). Exit status 2 on a usage error
(no spool there, an unknown study key).
"""
import argparse
import os.path as osp
import sys
from collections import Counter
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet_famo.node import Spool  # noqa: E402
from mmdet_famo.quick_exit import skip_collection_at_exit  # noqa: E402


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="List the DICOM node's dead letters, or re-queue them")
    parser.add_argument('--spool', required=True, help="the node's spool")
    parser.add_argument('--requeue',
                        action='store_true',
                        help='put them back in the outbox, to be sent again')
    parser.add_argument('--study',
                        action='append',
                        metavar='KEY',
                        help='only this study (its key, as logged); repeat '
                        'for more')
    args = parser.parse_args(argv)
    if not osp.isdir(osp.join(args.spool, 'studies')):
        parser.error(f'{args.spool} is not a DICOM node spool (no studies/)')
    spool = Spool(args.spool)
    unknown = set(args.study or ()) - set(spool.keys())
    if unknown:
        parser.error(f'no study {", ".join(sorted(unknown))} in the spool')
    letters = [
        letter for letter in spool.dead_letters()
        if not args.study or letter.key in args.study
    ]
    by_study = Counter((letter.key, letter.reason) for letter in letters)
    for (key, reason), count in sorted(by_study.items()):
        print(f'{key}: {count} x {reason}')
    if args.requeue:
        for letter in letters:
            spool.requeue(letter)
        print(f'{len(letters)} dead letters re-queued')
    else:
        print(f'{len(letters)} dead letters in '
              f'{len({letter.key for letter in letters})} studies')
    return 0


if __name__ == '__main__':
    skip_collection_at_exit()
    sys.exit(main())
