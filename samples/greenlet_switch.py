"""Three raw greenlets passing control explicitly; prints 1 to 6.

No hub is involved: this is the greenlet library itself, which greenpatch builds on and which
keeps working beside the hub. Each switch() suspends the running greenlet where it stands and
resumes the target where it last stood.
"""

from greenlet import greenlet


def first():
    print(1)
    second_gr.switch()  # -> second prints 2
    print(4)
    second_gr.switch()  # -> second prints 5


def second():
    print(2)
    third_gr.switch()  # -> third prints 3
    print(5)
    third_gr.switch()  # -> third prints 6


def third():
    print(3)
    first_gr.switch()  # -> first prints 4
    print(6)
    # Returning ends this greenlet: control goes to its parent, the main greenlet.


first_gr = greenlet(first)
second_gr = greenlet(second)
third_gr = greenlet(third)

if __name__ == "__main__":
    first_gr.switch()
